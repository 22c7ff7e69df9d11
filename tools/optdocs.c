/* optdocs.c - print a document made from the option table (src/opts.c).
 *
 *   optdocs man      the man page's OPTIONS section (roff)
 *   optdocs readme   the README's option table (Markdown)
 *   optdocs names    every long option, one a line ("colour alias" for an alias)
 *
 * tools/docs.sh puts them in place (`make docs`); tests/docs_sync.sh checks
 * that they are. */
#include <stdio.h>
#include <string.h>

#include "tlsinspect/opts.h"

static void print_names(void)
{
    size_t n;
    const struct opt_def *t = opts_table(&n);

    for (size_t i = 0; i < n; i++)
        printf("%s%s\n", t[i].name, t[i].hidden ? " alias" : "");
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "man") == 0)
        opts_man(stdout);
    else if (argc == 2 && strcmp(argv[1], "readme") == 0)
        opts_readme(stdout);
    else if (argc == 2 && strcmp(argv[1], "names") == 0)
        print_names();
    else {
        fprintf(stderr, "usage: optdocs man|readme|names\n");
        return 2;
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
