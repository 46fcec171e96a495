/*
 * consumer.c: a program built against the installed librekisteri (header,
 * pkg-config file, shared library), as a user of the library would.
 */
#include <stdio.h>

#include <rekisteri.h>

int main(void)
{
	const char *v = rk_version();

	if (v == NULL || v[0] == '\0') {
		fputs("rk_version returned nothing\n", stderr);
		return 1;
	}
	printf("librekisteri %s: status %d is %s\n", v, (int)RK_EREFUSED,
	       rk_status_name(RK_EREFUSED));
	return 0;
}
