struct in_s { int i; char c; };
struct out_s { int oi; char oc; };
translator struct out_s < struct in_s *p > {
	oi = p->i;
	oc = p->c;
};
translator struct out_s < int x > { oi = x; };
provider myprov {
	probe start(int, char *);
	probe done__now(int a, struct in_s *s) : (int, struct out_s *);
	probe empty();
};
BEGIN { x = xlate <struct out_s> (y).oi; }
