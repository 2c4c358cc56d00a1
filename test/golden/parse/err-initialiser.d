int i = 0;
BEGIN
{
}
