/* A scalar C program of the sequential algorithm, the yardstick of benchmarks/bench_engine.py.

   The same conventions as structurer and benchmarks/reference.py (SIFMA Uniform Practices):
   every pool amortises on a level payment re-computed each month on its remaining term at its
   gross WAC (all of the balance in its last month), prepays SMM x (balance - scheduled
   principal) at the PSA curve on its own loan age, and pays its net coupon; each class is due
   its coupon on its balance plus any shortfall (pro rata to what is due when the collateral's
   interest falls short) and takes the collateral's principal one class after another. The
   output is every class's SIFMA WAL (sum k x P_k / (12 x sum P_k)) per scenario.

   Build:  cc -O3 -o seq seq.c -lm -lpthread
   Run:    seq THREADS REPEAT < input > wals
   Input (whitespace separated):
       POOLS  then per pool: balance wac coupon remaining age      (rates as decimals)
       CLASSES then per class: balance coupon
       SCENARIOS then one constant PSA speed per scenario
   Output: one line per scenario, the classes' WALs (%.17g; nan for a class never paid).
   On stderr: "seconds WALL CPU", the best of REPEAT timings of the computation alone (parsing
   and printing excluded), with the scenarios split over THREADS threads: wall-clock seconds and
   the process's CPU seconds (all threads), which a busy machine does not inflate. */

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef struct {
    int n_pool, n_cls, n_scen, periods;
    double *pool_bal, *pool_wac, *pool_net;
    int *pool_rem, *pool_age;
    double *cls_bal, *cls_cpn;
    double *psa;
    double *wal; /* [scenario][class] */
} Deal;

typedef struct {
    const Deal *d;
    int first, last;
} Job;

static void run_scenario(const Deal *d, int s, double *bal, double *cbal, double *carried,
                         double *due, double *weighted, double *total) {
    const double psa = d->psa[s];
    for (int j = 0; j < d->n_pool; j++) bal[j] = d->pool_bal[j];
    for (int i = 0; i < d->n_cls; i++) {
        cbal[i] = d->cls_bal[i];
        carried[i] = 0.0;
        weighted[i] = 0.0;
        total[i] = 0.0;
    }
    for (int t = 1; t <= d->periods; t++) {
        double interest = 0.0, principal = 0.0;
        for (int j = 0; j < d->n_pool; j++) {
            const int n = d->pool_rem[j] - t + 1;
            if (n < 1) continue;
            const double b = bal[j], r = d->pool_wac[j] / 12.0;
            double scheduled;
            if (n == 1) scheduled = b;
            else if (r > 0) scheduled = b * r / (1.0 - pow(1.0 + r, -n)) - b * r;
            else scheduled = b / n;
            int age = d->pool_age[j] + t;
            if (age > 30) age = 30;
            if (age < 1) age = 1;
            double cpr = psa / 100.0 * 0.002 * age;
            if (cpr > 1.0) cpr = 1.0;
            const double smm = 1.0 - pow(1.0 - cpr, 1.0 / 12.0);
            const double prepaid = smm * (b - scheduled);
            interest += b * d->pool_net[j] / 12.0;
            principal += scheduled + prepaid;
            bal[j] = b - scheduled - prepaid;
        }
        /* interest: pro rata to what is due when the collateral falls short */
        double total_due = 0.0;
        for (int i = 0; i < d->n_cls; i++) {
            due[i] = cbal[i] * d->cls_cpn[i] / 12.0 + carried[i];
            total_due += due[i];
        }
        double ratio = total_due > 0 ? interest / total_due : 1.0;
        if (ratio > 1.0) ratio = 1.0;
        /* principal: one class after another */
        double left = principal;
        for (int i = 0; i < d->n_cls; i++) {
            carried[i] = due[i] - due[i] * ratio;
            double pay = left > 0 ? (left < cbal[i] ? left : cbal[i]) : 0.0;
            cbal[i] -= pay;
            left -= pay;
            if (pay > 0) {
                weighted[i] += t * pay;
                total[i] += pay;
            }
        }
    }
    for (int i = 0; i < d->n_cls; i++)
        d->wal[(size_t)s * d->n_cls + i] = total[i] > 0 ? weighted[i] / (12.0 * total[i]) : NAN;
}

static void *work(void *arg) {
    const Job *job = arg;
    const Deal *d = job->d;
    double *buf = malloc(sizeof(double) * (d->n_pool + 5 * (size_t)d->n_cls));
    double *bal = buf, *cbal = bal + d->n_pool, *carried = cbal + d->n_cls;
    double *due = carried + d->n_cls, *weighted = due + d->n_cls, *total = weighted + d->n_cls;
    for (int s = job->first; s < job->last; s++)
        run_scenario(d, s, bal, cbal, carried, due, weighted, total);
    free(buf);
    return NULL;
}

static double clock_of(clockid_t which) {
    struct timespec ts;
    clock_gettime(which, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int read_int(int *x) { return scanf("%d", x) == 1; }
static int read_double(double *x) { return scanf("%lf", x) == 1; }

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    int repeat = argc > 2 ? atoi(argv[2]) : 1;
    if (threads < 1 || repeat < 1) {
        fprintf(stderr, "usage: seq THREADS REPEAT < input\n");
        return 2;
    }
    Deal d = {0};
    if (!read_int(&d.n_pool) || d.n_pool < 1) goto bad;
    d.pool_bal = malloc(sizeof(double) * d.n_pool);
    d.pool_wac = malloc(sizeof(double) * d.n_pool);
    d.pool_net = malloc(sizeof(double) * d.n_pool);
    d.pool_rem = malloc(sizeof(int) * d.n_pool);
    d.pool_age = malloc(sizeof(int) * d.n_pool);
    for (int j = 0; j < d.n_pool; j++) {
        if (!read_double(&d.pool_bal[j]) || !read_double(&d.pool_wac[j]) || !read_double(&d.pool_net[j])
            || !read_int(&d.pool_rem[j]) || !read_int(&d.pool_age[j]))
            goto bad;
        if (d.pool_rem[j] > d.periods) d.periods = d.pool_rem[j];
    }
    if (!read_int(&d.n_cls) || d.n_cls < 1) goto bad;
    d.cls_bal = malloc(sizeof(double) * d.n_cls);
    d.cls_cpn = malloc(sizeof(double) * d.n_cls);
    for (int i = 0; i < d.n_cls; i++)
        if (!read_double(&d.cls_bal[i]) || !read_double(&d.cls_cpn[i])) goto bad;
    if (!read_int(&d.n_scen) || d.n_scen < 0) goto bad;
    d.psa = malloc(sizeof(double) * (d.n_scen + 1));
    for (int s = 0; s < d.n_scen; s++)
        if (!read_double(&d.psa[s])) goto bad;
    d.wal = malloc(sizeof(double) * ((size_t)d.n_scen * d.n_cls + 1));

    if (threads > d.n_scen && d.n_scen > 0) threads = d.n_scen;
    pthread_t *ids = malloc(sizeof(pthread_t) * threads);
    Job *jobs = malloc(sizeof(Job) * threads);
    double best = INFINITY, best_cpu = INFINITY;
    for (int r = 0; r < repeat; r++) {
        double start = clock_of(CLOCK_MONOTONIC), start_cpu = clock_of(CLOCK_PROCESS_CPUTIME_ID);
        for (int k = 0; k < threads; k++) {
            jobs[k].d = &d;
            jobs[k].first = (int)((long long)d.n_scen * k / threads);
            jobs[k].last = (int)((long long)d.n_scen * (k + 1) / threads);
            if (threads == 1) work(&jobs[k]);
            else pthread_create(&ids[k], NULL, work, &jobs[k]);
        }
        if (threads > 1)
            for (int k = 0; k < threads; k++) pthread_join(ids[k], NULL);
        double took = clock_of(CLOCK_MONOTONIC) - start;
        double took_cpu = clock_of(CLOCK_PROCESS_CPUTIME_ID) - start_cpu;
        if (took < best) best = took;
        if (took_cpu < best_cpu) best_cpu = took_cpu;
    }
    for (int s = 0; s < d.n_scen; s++) {
        for (int i = 0; i < d.n_cls; i++)
            printf(i ? " %.17g" : "%.17g", d.wal[(size_t)s * d.n_cls + i]);
        printf("\n");
    }
    fprintf(stderr, "seconds %.9e %.9e\n", best, best_cpu);
    return 0;
bad:
    fprintf(stderr, "seq: bad input (see the comment at the top of seq.c)\n");
    return 1;
}
