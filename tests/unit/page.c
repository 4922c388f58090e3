/* SPDX-License-Identifier: ISC */
/* The live page built into the library: whole, and self-contained. */
#include <criterion/criterion.h>
#include <string.h>

#include "http/page.h"

Test(page, whole)
{
	cr_expect_eq(strlen(ev_http_page), ev_http_page_len);
	cr_expect(strncmp(ev_http_page, "<!doctype html>\n", 16) == 0);
	cr_expect(strstr(ev_http_page, "</html>\n") == ev_http_page + ev_http_page_len - 8);
	cr_expect(strstr(ev_http_page, "new EventSource(\"events\")"));
	cr_expect(strstr(ev_http_page, "fetch(\"stat\""));
}

Test(page, nothing_from_elsewhere)
{
	static const char *const bad[] = { "src=\"http", "src=\"//", "href=\"http", "href=\"//",
		"@import", "url(http", "url(//" };

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_expect_null(strstr(ev_http_page, bad[i]), "the page loads something: %s", bad[i]);
	cr_expect(strstr(ev_http_page, "Content-Security-Policy"));
}
