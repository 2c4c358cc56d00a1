#line 100 "other.d"
BEGIN
{
	x = ;
}
