typedef struct foo bar_t;
BEGIN
{
	a = 1 + 2 * 3 - 4 / 2 % 3;
	b = (1 + 2) * 3;
	c = x << 2 >> 1 | y & z ^ w;
	d = a < b && b <= c || c > d ^^ d >= e;
	e = a == b != c;
	f = a ? b : c ? d : e;
	g += 1; g -= 1; g *= 2; g /= 2; g %= 3; g &= 1; g |= 2; g ^= 3; g <<= 1; g >>= 1;
	h = -a + +b - ~c * !d;
	i = *p + &q;
	j = ++k + --l + m++ + n--;
	k = (int)x + (unsigned long long)y + (char *)z + (struct foo *)w + (uint64_t)v;
	l = sizeof (int) + sizeof x + sizeof(y) + sizeof (struct bar);
	m = offsetof(struct foo, member) + offsetof(bar_t, f);
	n = stringof(arg0) + stringof x;
	o = xlate <psinfo_t *> (curthread)->pr_pid;
	p = a.b.c + a->b->c + a[1][2] + a[1, "two", 3];
	q = f() + g(1) + h(1, 2, 3);
	r = @agg + @;
	s = self->x + this->y + `max_pfn + vmlinux`jiffies;
	t = 'a' + 'ab' + '\n' + '\0' + '\x41' + '\101';
	u = "string\twith\\escapes\"";
	v = 0 + 07 + 0x1F + 10u + 10l + 10ul + 10ull + 0xffffffffffffffff;
	w = (a, b, c);
	x = a = b = c;
	y = - -a;
	z = $1 + $$1 + $pid + $target;
}
