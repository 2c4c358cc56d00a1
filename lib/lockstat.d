/*
 * dtrace-ts D library: the lockstat provider's constants (Oracle's lockstat.d): args[2] of
 * rw-spin and rw-block says whether the thread wanted the lock as a writer or a reader.
 */

inline int RW_WRITER = 0x00;
inline int RW_READER = 0x01;
