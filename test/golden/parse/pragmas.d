#pragma D option quiet
#pragma D option bufsize=4m
#pragma D attributes Evolving/Evolving/Common provider myprov provider
#pragma D depends_on provider syscall
#pragma D binding "1.0" foo
#pragma ident "%Z%"
#pragma weak foo
# 1 "included.h"
int from_header;
# 20 "script.d"
BEGIN
{
#pragma D option destructive
	exit(0);
}
