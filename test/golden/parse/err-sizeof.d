BEGIN
{
	x = sizeof(*);
}
