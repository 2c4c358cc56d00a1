BEGIN
{
	x = a + b = 3;
	y = ;
}
END
{
	z = )(;
}
