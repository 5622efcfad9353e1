/* A plain C per-sample training loop (SPEC §5): the baseline of bench/kernel.py. */
#include <math.h>

/* opt: 0 vanilla sgd, 1 course momentum, 2 course adam (no bias correction). */
int train(const double *X, const double *y, long n, long epochs, int opt, const double *p,
          double *w, double *history)
{
    double m[9] = {0}, v[9] = {0}, g[9];
    for (long e = 0; e < epochs; e++) {
        double total = 0.0;
        for (long i = 0; i < n; i++) {
            const double *x = X + 5 * i;
            double a = w[0] * x[0] + w[1] * x[1];
            double ex = exp(a * a + w[5]);
            double th = tanh(ex + w[6]);
            double q = w[3] * x[3] + w[4] * x[4];
            double sn = sin(w[2] * x[2]);
            double sg = 1.0 / (1.0 + exp(-(sn * q + w[7])));
            double diff = y[i] - (th + w[8] * sg);
            total += diff * diff;
            double dy = -2.0 * diff;
            g[8] = dy * sg;
            double ds = dy * w[8] * sg * (1.0 - sg);
            g[7] = ds;
            g[2] = ds * q * cos(w[2] * x[2]) * x[2];
            g[3] = ds * sn * x[3];
            g[4] = ds * sn * x[4];
            double dt = dy * (1.0 - th * th);
            g[6] = dt;
            g[5] = dt * ex;
            g[0] = g[5] * 2.0 * a * x[0];
            g[1] = g[5] * 2.0 * a * x[1];
            for (int j = 0; j < 9; j++) {
                if (opt == 0) {
                    w[j] = w[j] - p[0] * g[j];
                } else if (opt == 1) {
                    m[j] = p[1] * m[j] + (1.0 - p[1]) * g[j];
                    w[j] = w[j] - p[0] * m[j];
                } else {
                    m[j] = p[1] * m[j] + (1.0 - p[1]) * g[j];
                    v[j] = p[2] * v[j] + (1.0 - p[2]) * (g[j] * g[j]);
                    w[j] = w[j] - p[0] * m[j] / (sqrt(v[j]) + p[3]);
                }
            }
        }
        history[e] = total / n;
    }
    return 0;
}
