#if 0
#endif
BEGIN {}
