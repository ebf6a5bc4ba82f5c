/* RepOps CPU kernels: the same fixed sequence of IEEE operations as the torch implementation
 * in verifier/repops/kernels.py, in one call instead of dozens of small torch operations.
 *
 * Built with -ffp-contract=off and without -ffast-math: every product and sum is rounded on
 * its own (no fused multiply-add), nothing is reassociated, subnormals are kept. Loops are
 * vectorized only across independent outputs (the j index), never across a reduction, so the
 * order of every reduction is the one the torch implementation uses. tests/unit/verifier
 * checks both implementations bit for bit.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define EXP_TERMS 14
static double exp_terms[EXP_TERMS];
static double ln2_hi, ln2_lo, log2e, flt_min;
static double log_terms[16]; /* 1/31, 1/29, ..., 1/1 */

void rp_init(const double *terms, double hi, double lo, double l2e, double fmin, const double *logs) {
    memcpy(exp_terms, terms, sizeof exp_terms);
    memcpy(log_terms, logs, sizeof log_terms);
    ln2_hi = hi;
    ln2_lo = lo;
    log2e = l2e;
    flt_min = fmin;
}

/* Pairwise tree over `cnt` rows of `n` floats in w (room for one extra row): adjacent pairs,
 * a zero row appended whenever the count is odd; the result ends up in row 0. */
static void tree(float *w, int64_t cnt, int64_t n) {
    while (cnt > 1) {
        if (cnt & 1) {
            memset(w + cnt * n, 0, (size_t)n * sizeof(float));
            cnt++;
        }
        int64_t half = cnt / 2;
        for (int64_t t = 0; t < half; t++) {
            float *dst = w + t * n;
            const float *x0 = w + 2 * t * n, *x1 = x0 + n;
            for (int64_t j = 0; j < n; j++) dst[j] = x0[j] + x1[j];
        }
        cnt = half;
    }
}

/* Streaming form of tree(), for matmul: leaves are pushed in order and two partial sums of
 * one level are added (earlier + later) as soon as both exist, like a binary counter; the
 * result is the root of the tree over the next power of two of leaves, missing leaves being
 * zeros. tree()'s level-by-level padding gives the same bits: adding zeros is idempotent
 * after the first (x + 0 + 0 == x + 0). A block of 2^L missing leaves is pushed as one +0 at
 * level L (its value). Each output tile of T columns keeps its stack in a small local array. */
#define MAX_LEVELS 64
/* An R x T output tile: leaves come in blocks of 8 (((p0+p1)+(p2+p3))+((p4+p5)+(p6+p7)), the
 * tree's first three levels, in registers) pushed at level 3, then single leaves, then zeros. */
#define DEFINE_TILE(R, T)                                                                                            \
    static void tile_##R##_##T(const float *a, int64_t sa0, int64_t sa1, const float *b, int64_t sb0, float *out,   \
                               int64_t ldo, int64_t k) {                                                             \
        float acc[MAX_LEVELS][R][T], v[R][T];                                                                        \
        uint64_t count = 0;                                                                                          \
        int lvl = 0;                                                                                                 \
        while (count < (uint64_t)k || (count & (count - 1))) {                                                      \
            int level = 0;                                                                                           \
            if (count + 8 <= (uint64_t)k) {                                                                          \
                const float *b0 = b + count * sb0;                                                                   \
                for (int r = 0; r < R; r++) {                                                                        \
                    const float *ar = a + r * sa0 + count * sa1;                                                     \
                    const float a0 = ar[0], a1 = ar[sa1], a2 = ar[2 * sa1], a3 = ar[3 * sa1];                        \
                    const float a4 = ar[4 * sa1], a5 = ar[5 * sa1], a6 = ar[6 * sa1], a7 = ar[7 * sa1];              \
                    for (int j = 0; j < T; j++) {                                                                    \
                        float p0 = a0 * b0[j], p1 = a1 * b0[sb0 + j], p2 = a2 * b0[2 * sb0 + j];                     \
                        float p3 = a3 * b0[3 * sb0 + j], p4 = a4 * b0[4 * sb0 + j], p5 = a5 * b0[5 * sb0 + j];       \
                        float p6 = a6 * b0[6 * sb0 + j], p7 = a7 * b0[7 * sb0 + j];                                  \
                        v[r][j] = ((p0 + p1) + (p2 + p3)) + ((p4 + p5) + (p6 + p7));                                 \
                    }                                                                                                \
                }                                                                                                    \
                level = 3;                                                                                           \
            } else if (count < (uint64_t)k) {                                                                        \
                const float *br = b + count * sb0;                                                                   \
                for (int r = 0; r < R; r++) {                                                                        \
                    const float aik = a[r * sa0 + count * sa1];                                                      \
                    for (int j = 0; j < T; j++) v[r][j] = aik * br[j];                                               \
                }                                                                                                    \
            } else {                                                                                                 \
                level = __builtin_ctzll(count);                                                                      \
                for (int r = 0; r < R; r++)                                                                          \
                    for (int j = 0; j < T; j++) v[r][j] = 0.0f;                                                      \
            }                                                                                                        \
            lvl = level;                                                                                             \
            for (uint64_t c = (count >> level) + 1; (c & 1) == 0; c >>= 1, lvl++)                                    \
                for (int r = 0; r < R; r++)                                                                          \
                    for (int j = 0; j < T; j++) v[r][j] = acc[lvl][r][j] + v[r][j];                                  \
            for (int r = 0; r < R; r++)                                                                              \
                for (int j = 0; j < T; j++) acc[lvl][r][j] = v[r][j];                                                \
            count += (uint64_t)1 << level;                                                                           \
        }                                                                                                            \
        for (int r = 0; r < R; r++)                                                                                  \
            for (int j = 0; j < T; j++) out[r * ldo + j] = acc[lvl][r][j];                                           \
    }
DEFINE_TILE(4, 32)
DEFINE_TILE(4, 8)
DEFINE_TILE(4, 1)
DEFINE_TILE(1, 32)
DEFINE_TILE(1, 8)
DEFINE_TILE(1, 1)

/* out (m x n) = tree over k of a[i,k] * b[k,j]; a and b given by strides (transposes are free). */
/* Rows [i0, i1) of a matmul whose b is contiguous along j; i0 is a multiple of 4, so every row
 * gets the tile it gets in a single-threaded run. */
struct mm_rows {
    const float *a;
    int64_t sa0, sa1;
    const float *b;
    int64_t sb0;
    float *out;
    int64_t i0, i1, k, n;
};

static void *mm_run(void *arg) {
    const struct mm_rows *J = arg;
    const float *a = J->a, *b = J->b;
    const int64_t sa0 = J->sa0, sa1 = J->sa1, sb0 = J->sb0, k = J->k, n = J->n;
    float *out = J->out;
    int64_t i = J->i0;
    for (; i + 4 <= J->i1; i += 4) {
        int64_t j = 0;
        for (; j + 32 <= n; j += 32) tile_4_32(a + i * sa0, sa0, sa1, b + j, sb0, out + i * n + j, n, k);
        for (; j + 8 <= n; j += 8) tile_4_8(a + i * sa0, sa0, sa1, b + j, sb0, out + i * n + j, n, k);
        for (; j < n; j++) tile_4_1(a + i * sa0, sa0, sa1, b + j, sb0, out + i * n + j, n, k);
    }
    for (; i < J->i1; i++) {
        int64_t j = 0;
        for (; j + 32 <= n; j += 32) tile_1_32(a + i * sa0, sa0, sa1, b + j, sb0, out + i * n + j, n, k);
        for (; j + 8 <= n; j += 8) tile_1_8(a + i * sa0, sa0, sa1, b + j, sb0, out + i * n + j, n, k);
        for (; j < n; j++) tile_1_1(a + i * sa0, sa0, sa1, b + j, sb0, out + i * n + j, n, k);
    }
    return NULL;
}

/* Threads for large matmuls: each output element is computed by the same code whichever
 * thread runs it, so the bits do not depend on this number. */
#define MAX_THREADS 64
#define THREADED_WORK (1 << 20)
static int rp_threads = 1;

void rp_set_threads(int threads) { rp_threads = threads < 1 ? 1 : (threads > MAX_THREADS ? MAX_THREADS : threads); }

int rp_matmul(const float *a, int64_t sa0, int64_t sa1, const float *b, int64_t sb0, int64_t sb1, float *out, int64_t m,
              int64_t k, int64_t n) {
    if (k == 0) {
        memset(out, 0, (size_t)(m * n) * sizeof(float));
        return 0;
    }
    float *bc = NULL;
    if (sb1 != 1) { /* a contiguous copy of b so that the j loop runs over adjacent floats */
        bc = malloc((size_t)(k * n) * sizeof(float));
        if (!bc) return -1;
        for (int64_t kk = 0; kk < k; kk++)
            for (int64_t j = 0; j < n; j++) bc[kk * n + j] = b[kk * sb0 + j * sb1];
        b = bc;
        sb0 = n;
    }
    if (m == 0) {
        free(bc);
        return 0;
    }
    int64_t threads = rp_threads;
    if (m * n * k < THREADED_WORK || m < 8) threads = 1;
    if (threads > m / 4) threads = m / 4 > 0 ? m / 4 : 1;
    const int64_t chunk = ((m / threads + 3) / 4) * 4; /* a multiple of 4 */
    struct mm_rows jobs[MAX_THREADS];
    pthread_t ids[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    int64_t count = 0;
    for (int64_t i0 = 0; i0 < m && count < MAX_THREADS; i0 += chunk, count++) {
        jobs[count] = (struct mm_rows){a, sa0, sa1, b, sb0, out, i0, i0 + chunk < m ? i0 + chunk : m, k, n};
    }
    jobs[count - 1].i1 = m;
    for (int64_t t = 1; t < count; t++) started[t] = pthread_create(&ids[t], NULL, mm_run, &jobs[t]) == 0;
    mm_run(&jobs[0]);
    for (int64_t t = 1; t < count; t++) {
        if (started[t])
            pthread_join(ids[t], NULL);
        else
            mm_run(&jobs[t]); /* no thread: run it here */
    }
    free(bc);
    return 0;
}

/* out (n) = tree over the r rows of x (r x n, strides s0, s1): a matmul with a row of ones
 * (1 * x == x exactly). */
int rp_tree_rows(const float *x, int64_t s0, int64_t s1, float *out, int64_t r, int64_t n) {
    float *ones = malloc((size_t)(r > 0 ? r : 1) * sizeof(float));
    if (!ones) return -1;
    for (int64_t i = 0; i < r; i++) ones[i] = 1.0f;
    int rc = rp_matmul(ones, r, 1, x, s0, s1, out, 1, r, n);
    free(ones);
    return rc;
}

static double exp64(double x) {
    if (x < -104.0) x = -104.0; /* torch.clamp: NaN stays NaN */
    if (x > 88.0) x = 88.0;
    double k = nearbyint(x * log2e);
    double r = (x - k * ln2_hi) - k * ln2_lo;
    double p = exp_terms[EXP_TERMS - 1];
    for (int i = EXP_TERMS - 2; i >= 0; i--) {
        p = p * r;
        p = p + exp_terms[i];
    }
    return isnan(k) ? k : ldexp(p, (int)k);
}

static float exp32(float x) {
    float out = (float)exp64((double)x);
    return out < flt_min ? 0.0f : out;
}

static float log32(float x) {
    int e;
    double mantissa = frexp((double)x, &e);
    double f = (mantissa - 1.0) * (1.0 / (mantissa + 1.0));
    double f2 = f * f;
    double series = log_terms[0];
    for (int i = 1; i < 16; i++) {
        series = series * f2;
        series = series + log_terms[i];
    }
    double log_m = (f * series) * 2.0;
    double ed = (double)e;
    return (float)((ed * ln2_hi + log_m) + ed * ln2_lo);
}

void rp_exp(const float *x, float *out, int64_t n) {
    for (int64_t i = 0; i < n; i++) out[i] = exp32(x[i]);
}

void rp_log(const float *x, float *out, int64_t n) {
    for (int64_t i = 0; i < n; i++) out[i] = log32(x[i]);
}

/* Row-wise log-softmax of x (b x c): shifted = x - max; shifted - log(tree(exp(shifted))). */
int rp_log_softmax(const float *x, float *out, int64_t b, int64_t c) {
    float *w = malloc((size_t)(c + 1) * sizeof(float));
    if (!w) return -1;
    for (int64_t i = 0; i < b; i++) {
        const float *row = x + i * c;
        float mx = row[0];
        for (int64_t j = 1; j < c; j++)
            if (row[j] > mx || isnan(row[j])) mx = isnan(mx) ? mx : row[j];
        float *o = out + i * c;
        for (int64_t j = 0; j < c; j++) {
            o[j] = row[j] - mx;
            w[j] = exp32(o[j]);
        }
        tree(w, c, 1);
        const float lse = log32(w[0]);
        for (int64_t j = 0; j < c; j++) o[j] = o[j] - lse;
    }
    free(w);
    return 0;
}

/* factor * tree over i of -log_softmax(x)[i, target_i]; -2 for a target out of range. */
int rp_cross_entropy_sum(const float *x, const int64_t *target, float *out, int64_t b, int64_t c, float factor) {
    for (int64_t i = 0; i < b; i++)
        if (target[i] < 0 || target[i] >= c) return -2;
    float *ls = malloc((size_t)(b * c) * sizeof(float));
    float *picked = malloc((size_t)(b + 1) * sizeof(float));
    if (!ls || !picked) {
        free(ls);
        free(picked);
        return -1;
    }
    int rc = rp_log_softmax(x, ls, b, c);
    for (int64_t i = 0; i < b; i++) picked[i] = -ls[i * c + target[i]];
    if (b == 0) picked[0] = 0.0f;
    tree(picked, b, 1);
    out[0] = picked[0] * factor;
    free(ls);
    free(picked);
    return rc;
}

/* factor * (exp(log_softmax(x)) - onehot(target)). */
int rp_cross_entropy_grad(const float *x, const int64_t *target, float *out, int64_t b, int64_t c, float factor) {
    for (int64_t i = 0; i < b; i++)
        if (target[i] < 0 || target[i] >= c) return -2;
    int rc = rp_log_softmax(x, out, b, c);
    for (int64_t i = 0; i < b; i++)
        for (int64_t j = 0; j < c; j++) {
            const float onehot = j == target[i] ? 1.0f : 0.0f;
            out[i * c + j] = (exp32(out[i * c + j]) - onehot) * factor;
        }
    return rc;
}

/* out = x * f + y and out = p - x * f, elementwise (two roundings each: the SGD kernels). */
void rp_scale_add(const float *x, float f, const float *y, float *out, int64_t n) {
    for (int64_t i = 0; i < n; i++) out[i] = x[i] * f + y[i];
}

void rp_sub_scaled(const float *p, const float *x, float f, float *out, int64_t n) {
    for (int64_t i = 0; i < n; i++) out[i] = p[i] - x[i] * f;
}

/* ReLU and its gradient: x > 0 ? x : +0 and x > 0 ? g : +0 (NaN is not > 0). */
void rp_relu(const float *x, float *out, int64_t n) {
    for (int64_t i = 0; i < n; i++) out[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void rp_relu_grad(const float *g, const float *x, float *out, int64_t n) {
    for (int64_t i = 0; i < n; i++) out[i] = x[i] > 0.0f ? g[i] : 0.0f;
}

/* Batched matmul: rp_matmul over the leading index (strides in floats). */
int rp_bmm(const float *a, int64_t sa_b, int64_t sa0, int64_t sa1, const float *b, int64_t sb_b, int64_t sb0, int64_t sb1, float *out,
           int64_t batch, int64_t m, int64_t k, int64_t n) {
    for (int64_t i = 0; i < batch; i++) {
        int rc = rp_matmul(a + i * sa_b, sa0, sa1, b + i * sb_b, sb0, sb1, out + i * m * n, m, k, n);
        if (rc) return rc;
    }
    return 0;
}

/* Causal softmax of rows of `s` (batch x t x t): x = s * scale, x[i, j > i] = -inf,
 * p = exp(x - max) * (float)(1.0 / tree(exp(x - max))). */
int rp_causal_softmax(const float *s, float *out, int64_t batch, int64_t t, float scale) {
    float *w = malloc((size_t)(t + 1) * sizeof(float));
    if (!w) return -1;
    for (int64_t r = 0; r < batch * t; r++) {
        const int64_t i = r % t;
        const float *row = s + r * t;
        float *o = out + r * t;
        float mx = -INFINITY;
        for (int64_t j = 0; j < t; j++) {
            const float x = j > i ? -INFINITY : row[j] * scale;
            o[j] = x;
            if (x > mx || isnan(x)) mx = isnan(mx) ? mx : x;
        }
        const float masked = exp32(-INFINITY - mx);
        for (int64_t j = 0; j < t; j++) {
            o[j] = j > i ? masked : exp32(o[j] - mx);
            w[j] = o[j];
        }
        tree(w, t, 1);
        const float rcp = (float)(1.0 / (double)w[0]);
        for (int64_t j = 0; j < t; j++) o[j] = o[j] * rcp;
    }
    free(w);
    return 0;
}

/* d scores = (p * (dp - tree(dp * p))) * scale, rows of length t. */
int rp_causal_softmax_grad(const float *dp, const float *p, float *out, int64_t rows, int64_t t, float scale) {
    float *w = malloc((size_t)(t + 1) * sizeof(float));
    if (!w) return -1;
    for (int64_t r = 0; r < rows; r++) {
        const float *d = dp + r * t, *q = p + r * t;
        float *o = out + r * t;
        for (int64_t j = 0; j < t; j++) w[j] = d[j] * q[j];
        tree(w, t, 1);
        const float sum = w[0];
        for (int64_t j = 0; j < t; j++) {
            const float u = d[j] - sum;
            const float v = q[j] * u;
            o[j] = v * scale;
        }
    }
    free(w);
    return 0;
}

/* LayerNorm statistics of one row: xc (centered, into xc) and rstd; w is scratch (d + 1). */
static float ln_row(const float *x, float *xc, float *w, int64_t d, float inv, double eps) {
    for (int64_t j = 0; j < d; j++) w[j] = x[j];
    tree(w, d, 1);
    const float mean = w[0] * inv;
    for (int64_t j = 0; j < d; j++) {
        xc[j] = x[j] - mean;
        w[j] = xc[j] * xc[j];
    }
    tree(w, d, 1);
    const float var = w[0] * inv;
    return (float)(1.0 / sqrt((double)var + eps));
}

int rp_layer_norm(const float *x, const float *weight, const float *bias, float *out, int64_t rows, int64_t d, double eps) {
    float *w = malloc((size_t)(d + 1) * sizeof(float));
    if (!w) return -1;
    const float inv = (float)(1.0 / (double)d);
    for (int64_t r = 0; r < rows; r++) {
        float *o = out + r * d;
        const float rstd = ln_row(x + r * d, o, w, d, inv, eps);
        for (int64_t j = 0; j < d; j++) {
            const float xh = o[j] * rstd;
            const float y = xh * weight[j];
            o[j] = y + bias[j];
        }
    }
    free(w);
    return 0;
}

/* dx = ((g*w - tree(g*w)/d) - xhat * (tree(g*w*xhat)/d)) * rstd, row by row. */
int rp_layer_norm_grad(const float *g, const float *x, const float *weight, float *out, int64_t rows, int64_t d, double eps) {
    float *w = malloc((size_t)(3 * d + 1) * sizeof(float));
    if (!w) return -1;
    float *xh = w + d + 1, *dxh = xh + d;
    const float inv = (float)(1.0 / (double)d);
    for (int64_t r = 0; r < rows; r++) {
        const float *gr = g + r * d;
        float *o = out + r * d;
        const float rstd = ln_row(x + r * d, xh, w, d, inv, eps);
        for (int64_t j = 0; j < d; j++) {
            xh[j] = xh[j] * rstd;
            dxh[j] = gr[j] * weight[j];
            w[j] = dxh[j];
        }
        tree(w, d, 1);
        const float a = w[0] * inv;
        for (int64_t j = 0; j < d; j++) w[j] = dxh[j] * xh[j];
        tree(w, d, 1);
        const float c = w[0] * inv;
        for (int64_t j = 0; j < d; j++) {
            const float t1 = dxh[j] - a;
            const float t2 = xh[j] * c;
            const float t3 = t1 - t2;
            o[j] = t3 * rstd;
        }
    }
    free(w);
    return 0;
}

/* out = g * xhat (elementwise), the rows of LayerNorm's weight gradient before the tree. */
int rp_layer_norm_xhat_prod(const float *g, const float *x, float *out, int64_t rows, int64_t d, double eps) {
    float *w = malloc((size_t)(d + 1) * sizeof(float));
    if (!w) return -1;
    const float inv = (float)(1.0 / (double)d);
    for (int64_t r = 0; r < rows; r++) {
        float *o = out + r * d;
        const float rstd = ln_row(x + r * d, o, w, d, inv, eps);
        for (int64_t j = 0; j < d; j++) {
            const float xh = o[j] * rstd;
            o[j] = g[r * d + j] * xh;
        }
    }
    free(w);
    return 0;
}

/* GELU (tanh form) and its gradient, in float64 from basic operations, rounded once. */
static double gelu_c, gelu_k, gelu_k3;

void rp_init_gelu(double c, double k, double k3) {
    gelu_c = c;
    gelu_k = k;
    gelu_k3 = k3;
}

static double gelu_tanh(double x) {
    double z = ((x + ((x * x) * x) * gelu_k) * gelu_c) * 2.0;
    if (z < -80.0) z = -80.0; /* torch.clamp: NaN stays NaN */
    if (z > 80.0) z = 80.0;
    const double e = exp64(z);
    return 1.0 - 2.0 * (1.0 / (e + 1.0));
}

void rp_gelu(const float *x, float *out, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const double v = (double)x[i];
        const double t = gelu_tanh(v);
        out[i] = (float)((v * 0.5) * (1.0 + t));
    }
}

void rp_gelu_grad(const float *g, const float *x, float *out, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const double v = (double)x[i];
        const double t = gelu_tanh(v);
        const double d = 0.5 * (1.0 + t) + ((v * 0.5) * (1.0 - t * t)) * (gelu_c * (1.0 + (v * v) * gelu_k3));
        out[i] = (float)((double)g[i] * d);
    }
}

/* Adam's moments (mv: m then v, n each): m' = m * b1 + g * c1, v' = v * b2 + (g * g) * c2 (float32). */
void rp_adam_moments(const float *mv, const float *g, float *out, int64_t n, float b1, float c1, float b2, float c2) {
    for (int64_t i = 0; i < n; i++) {
        const float a = mv[i] * b1, b = g[i] * c1;
        out[i] = a + b;
        const float sq = g[i] * g[i];
        const float c = mv[n + i] * b2, d = sq * c2;
        out[n + i] = c + d;
    }
}

/* Adam's parameter update in float64, rounded once: (p * decay) - ((m * k1) * (1 / (sqrt(v * k2) + eps))) * lr. */
void rp_adam_param(const float *p, const float *mv, float *out, int64_t n, double k1, double k2, double eps, double lr, double decay) {
    for (int64_t i = 0; i < n; i++) {
        const double m_hat = (double)mv[i] * k1, v_hat = (double)mv[n + i] * k2;
        const double update = (m_hat * (1.0 / (sqrt(v_hat) + eps))) * lr;
        out[i] = (float)((double)p[i] * decay - update);
    }
}

/* out[0] = the pairwise tree over the n floats of x (tree() on a copy): one reduction over a
 * long vector without the matmul tiles' one-column path. */
int rp_tree_vec(const float *x, float *out, int64_t n) {
    float *w = malloc((size_t)(n + 1) * sizeof(float));
    if (!w) return -1;
    memcpy(w, x, (size_t)n * sizeof(float));
    if (n == 0) w[0] = 0.0f;
    tree(w, n, 1);
    out[0] = w[0];
    free(w);
    return 0;
}
