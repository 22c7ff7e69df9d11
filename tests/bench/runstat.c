/* runstat.c - run a command and report its wall time, CPU time and peak RSS (getrusage).
 *
 *   runstat OUTFILE COMMAND [ARG...]
 *
 * The command's stdout goes to OUTFILE (/dev/null to drop it); its stderr
 * is kept.  On stderr, one line the bench script parses:
 *   runstat: wall 1.234567 user 1.100000 sys 0.120000 maxrss_kib 51234 status 1
 * The exit status is the command's (128 + signal if it was killed).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double tv_secs(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
    struct timespec t0, t1;
    struct rusage ru;
    int status, fd, code;
    pid_t pid;

    if (argc < 3) {
        fprintf(stderr, "usage: runstat OUTFILE COMMAND [ARG...]\n");
        return 2;
    }
    fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        fprintf(stderr, "runstat: %s: %s\n", argv[1], strerror(errno));
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid = fork();
    if (pid < 0) {
        fprintf(stderr, "runstat: fork: %s\n", strerror(errno));
        return 2;
    }
    if (pid == 0) {
        if (dup2(fd, STDOUT_FILENO) < 0)
            _exit(127);
        close(fd);
        execvp(argv[2], argv + 2);
        fprintf(stderr, "runstat: %s: %s\n", argv[2], strerror(errno));
        _exit(127);
    }
    close(fd);
    if (wait4(pid, &status, 0, &ru) < 0) {
        fprintf(stderr, "runstat: wait4: %s\n", strerror(errno));
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    fprintf(stderr, "runstat: wall %.6f user %.6f sys %.6f maxrss_kib %ld status %d\n",
            (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
            tv_secs(ru.ru_utime), tv_secs(ru.ru_stime), ru.ru_maxrss, code);
    return code;
}
