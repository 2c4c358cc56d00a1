int x;
self int y;
this string z;
extern int ext;
int a[5], b[2][3];
int assoc[string, int];
uint64_t *ptrs[4];
int (*fp)(int, char *, ...);
char (*(*pfa)[3])(void);
const volatile unsigned long long cv;
typedef unsigned long long my64_t;
my64_t after_typedef;
typedef struct pair { int first; int second; } pair_t;
struct bits {
	unsigned int lo : 4, hi : 4;
	int : 0;
	char name[16];
	struct bits *next;
	union { int i; char c; } u;
};
union u { int i; long l; };
enum colour { RED, GREEN = 5, BLUE, };
enum colour favourite;
struct fwd;
inline int SEVEN = 7;
inline string NAME = "name";
inline int *PTR = (int *)0;
BEGIN { trace(SEVEN); }
