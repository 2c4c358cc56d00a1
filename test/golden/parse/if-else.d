BEGIN
{
	if (x > 1)
		y = 1;
	if (x) { a = 1; b = 2 } else { c = 3; }
	if (a) if (b) c = 1; else d = 2;
	if (e) { } else if (f) g = 1; else { h = 2 }
	{ nested = 1; }
	last = 1
}
