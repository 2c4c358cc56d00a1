BEGIN
/args[0/
{
	trace(1);
}
