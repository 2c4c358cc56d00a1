#!/usr/sbin/dtrace -s
/* probe descriptions: 1-4 fields, globs, lists, IDs */
BEGIN
{
	trace(1)
}
syscall::read*:entry, syscall::write:return,
profile-97, tick-1sec, :::END
/pid != 0/
{ ; ; }
pid$target:libc.so.6:malloc:entry
{ @[ufunc(uregs[R_PC])] = count(); }
fbt:vmlinux:[abc]*_fn?:entry, 1
/arg0/ { }
ERROR {}
