/*
 * print_struct.c - a target for the print() test: passes a struct point { 3, 4, "pt" } by
 * pointer to show(), which a pid probe prints. Exits 0.
 */
struct point { int x; int y; const char *name; };

__attribute__((noinline)) int show(struct point *p) { return p->x + p->y + p->name[0]; }

int main(void) {
  struct point p = { 3, 4, "pt" };
  return show(&p) == 7 + 'p' ? 0 : 1;
}
