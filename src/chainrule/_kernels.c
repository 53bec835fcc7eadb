/* chainrule's compiled loops, each the same arithmetic as the NumPy code it stands in for.
 *
 * sgd(param, grad, buffer, lr, momentum, dampening, weight_decay, nesterov, maximize, first)
 * applies PyTorch's SGD rule (see sgd.py) element by element. Every product and sum is
 * rounded to the array's precision exactly where NumPy's ufunc chain rounds it, and the
 * build turns off FMA contraction (-ffp-contract=off), so the result equals the NumPy
 * path bit for bit; only the number of passes over memory changes.
 *
 * The arrays must be C-contiguous float32 or float64 of one dtype and size; buffer is
 * None when momentum is 0. With first=True the buffer is written, not read (b_1 = d_1).
 *
 * outer(a, b, out) writes out[i, j] = a[i]·b[j]: the weight gradient dyᵀ·x of Linear at
 * batch size 1, for which BLAS runs a general matrix product three times slower.
 *
 * relu and relu_backward are ReLU's forward and backward in one pass each, NumPy's bits.
 *
 * max_pool takes each window's maximum and the kernel offset it came from in one pass over
 * the input (NumPy's path: four passes per offset), NumPy's bits; max_pool_backward routes
 * each output's gradient to the input pixel its window took the maximum from, in one pass
 * per kernel offset, where the NumPy path makes four.
 *
 * batch_norm and batch_norm_backward work channel row by channel row, so that a row's
 * passes find it in cache where NumPy's whole-array passes go to memory each time. Their
 * sums are accumulated in double and rounded once (NumPy sums pairwise, BLAS in blocks, in
 * the array's precision), so values may differ from the NumPy path in the last bits;
 * every other product and sum rounds where NumPy's does.
 *
 * cross_entropy and cross_entropy_backward are SoftmaxCrossEntropy's forward and backward,
 * one pass per row instead of a dozen NumPy calls. The backward rounds as the NumPy path
 * does; the forward's exp and log come from libm, not NumPy's vectorized ones, so its
 * last bit may differ.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>

/* The plain momentum loop is compiled once per vector width and the widest one this CPU
 * runs is picked when the module loads (GCC's target_clones): the wheel stays portable
 * and a machine with AVX-512 still gets it. Without FMA contraction every width
 * rounds the same, so all clones give the same bits. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define WIDEST_VECTORS __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define WIDEST_VECTORS
#endif

typedef struct {
    double lr, momentum, dampening, weight_decay;
    int nesterov, maximize, first;
} SGDOptions;

/* The whole rule, one element at a time. The options are loop-invariant; the two
 * common cases below get their own loops, which the compiler vectorizes. */
#define SGD_LOOPS(T)                                                             \
    static void sgd_general_##T(T *restrict p, const T *restrict g, T *restrict b, \
                                Py_ssize_t n, const SGDOptions *o)               \
    {                                                                            \
        const T lr = (T)o->lr, mu = (T)o->momentum, kept = (T)(1.0 - o->dampening); \
        const T wd = (T)o->weight_decay;                                         \
        const int maximize = o->maximize, first = o->first, nesterov = o->nesterov; \
        for (Py_ssize_t i = 0; i < n; i++) {                                     \
            /* d = ±g + λ·θ  (λ·θ − g when maximising, as effective_gradient) */ \
            T d = g[i];                                                          \
            if (wd != 0) {                                                       \
                T decay = p[i] * wd;                                             \
                d = maximize ? decay - d : decay + d;                            \
            } else if (maximize) {                                               \
                d = -d;                                                          \
            }                                                                    \
            T u = d;                                                             \
            if (b != NULL) {                                                     \
                T buf;                                                           \
                if (first) {                                                     \
                    buf = d;                                                     \
                } else {                                                         \
                    buf = b[i] * mu;                                             \
                    buf = kept != 1 ? buf + d * kept : buf + d;                  \
                }                                                                \
                b[i] = buf;                                                      \
                u = nesterov ? buf * mu + d : buf;                               \
            }                                                                    \
            p[i] = p[i] - u * lr;                                                \
        }                                                                        \
    }                                                                            \
                                                                                 \
    /* b ← μ·b + g,  θ ← θ − η·b */                                              \
    WIDEST_VECTORS static void sgd_momentum_##T(T *restrict p, const T *restrict g, T *restrict b, \
                                 Py_ssize_t n, T lr, T mu)                       \
    {                                                                            \
        for (Py_ssize_t i = 0; i < n; i++) {                                     \
            T buf = b[i] * mu;                                                   \
            buf = buf + g[i];                                                    \
            b[i] = buf;                                                          \
            p[i] = p[i] - buf * lr;                                              \
        }                                                                        \
    }                                                                            \
                                                                                 \
    static void sgd_##T(T *p, const T *g, T *b, Py_ssize_t n, const SGDOptions *o) \
    {                                                                            \
        int plain = o->weight_decay == 0 && !o->maximize && !o->nesterov;        \
        if (plain && b != NULL && !o->first && o->dampening == 0)                \
            sgd_momentum_##T(p, g, b, n, (T)o->lr, (T)o->momentum);              \
        else                                                                     \
            sgd_general_##T(p, g, b, n, o);                                      \
    }

SGD_LOOPS(float)
SGD_LOOPS(double)

/* -- the arguments' buffers: taken one by one, released together ------------------------- */
#define MOST_BUFFERS 8 /* the most any kernel takes: batch_norm's */

typedef struct {
    Py_buffer views[MOST_BUFFERS];
    int count;
} Held;

static void release(Held *held)
{
    while (held->count > 0)
        PyBuffer_Release(&held->views[--held->count]);
}

enum Access { READ, WRITE, LABELS, OFFSETS };

/* obj's buffer, C-contiguous and float32/float64 (READ, WRITE: writable too), int64
 * (LABELS) or uint8 (OFFSETS). On failure: an exception set, everything held released, NULL. */
static Py_buffer *take(Held *held, PyObject *obj, enum Access access, const char *name)
{
    if (held->count == MOST_BUFFERS) { /* a kernel that takes more must grow MOST_BUFFERS */
        PyErr_Format(PyExc_SystemError, "kernel: more than %d buffers for %s", MOST_BUFFERS, name);
        release(held);
        return NULL;
    }
    Py_buffer *view = &held->views[held->count];
    const int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (access == WRITE ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0) {
        release(held);
        return NULL;
    }
    held->count++;
    const char *format = view->format;
    if (format[0] == '<' || format[0] == '=' || format[0] == '@')
        format++;
    const int fits = access == LABELS    ? view->itemsize == 8 && (format[0] == 'q' || format[0] == 'l') && format[1] == '\0'
                     : access == OFFSETS ? format[0] == 'B' && format[1] == '\0'
                                         : (format[0] == 'f' || format[0] == 'd') && format[1] == '\0';
    if (!fits) {
        PyErr_Format(PyExc_TypeError, "kernel: %s must be %s, got format '%s'", name,
                     access == LABELS ? "int64" : access == OFFSETS ? "uint8" : "float32 or float64", view->format);
        release(held);
        return NULL;
    }
    return view;
}

/* Whether two buffers share a byte: a kernel never writes into memory it also reads
 * (its loops are compiled with restrict) nor into another output. Addresses are
 * compared as integers, which C defines for unrelated objects. */
static int overlap(const Py_buffer *a, const Py_buffer *b)
{
    const uintptr_t a0 = (uintptr_t)a->buf, b0 = (uintptr_t)b->buf;
    return a->len > 0 && b->len > 0 && a0 < b0 + (uintptr_t)b->len && b0 < a0 + (uintptr_t)a->len;
}

/* Whether `written` overlaps any of the `count` other views. */
static int overlaps_any(const Py_buffer *written, Py_buffer *const *others, int count)
{
    for (int i = 0; i < count; i++)
        if (others[i] != NULL && others[i] != written && overlap(written, others[i]))
            return 1;
    return 0;
}

static int same_shape(const Py_buffer *a, const Py_buffer *b)
{
    if (a->ndim != b->ndim)
        return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i])
            return 0;
    return 1;
}

/* The arrays do not fit together: release everything held, raise ValueError(message). */
static PyObject *mismatch(Held *held, const char *message)
{
    release(held);
    PyErr_SetString(PyExc_ValueError, message);
    return NULL;
}

/* 'f' (float32) or 'd' (float64), for a view taken as READ or WRITE. */
static char kind_of(const Py_buffer *view) { return view->format[strlen(view->format) - 1]; }

static Py_ssize_t item_size(char kind) { return kind == 'f' ? (Py_ssize_t)sizeof(float) : (Py_ssize_t)sizeof(double); }

static PyObject *sgd(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *param_obj, *grad_obj, *buffer_obj;
    SGDOptions o;
    if (!PyArg_ParseTuple(args, "OOOddddppp", &param_obj, &grad_obj, &buffer_obj, &o.lr, &o.momentum,
                          &o.dampening, &o.weight_decay, &o.nesterov, &o.maximize, &o.first))
        return NULL;
    Held held = {.count = 0};
    Py_buffer *param, *grad, *buffer = NULL;
    if (!(param = take(&held, param_obj, WRITE, "param")) || !(grad = take(&held, grad_obj, READ, "grad")))
        return NULL;
    if (buffer_obj != Py_None && !(buffer = take(&held, buffer_obj, WRITE, "momentum buffer")))
        return NULL;
    const char kind = kind_of(param);
    if (kind_of(grad) != kind || grad->len != param->len ||
        (buffer != NULL && (kind_of(buffer) != kind || buffer->len != param->len)))
        return mismatch(&held, "sgd kernel: param, grad and momentum buffer must share dtype and size");
    if (!same_shape(param, grad) || (buffer != NULL && !same_shape(param, buffer)))
        return mismatch(&held, "sgd kernel: param, grad and momentum buffer must share their shape");
    Py_buffer *const all[] = {param, grad, buffer};
    if (overlaps_any(param, all, 3) || (buffer != NULL && overlaps_any(buffer, all, 3)))
        return mismatch(&held, "sgd kernel: param and momentum buffer must not overlap each other or grad");
    void *b = buffer != NULL ? buffer->buf : NULL;
    const Py_ssize_t n = param->len / item_size(kind);
    Py_BEGIN_ALLOW_THREADS
    if (kind == 'f')
        sgd_float(param->buf, grad->buf, b, n, &o);
    else
        sgd_double(param->buf, grad->buf, b, n, &o);
    Py_END_ALLOW_THREADS
    release(&held);
    Py_RETURN_NONE;
}

/* out[i, j] = a[i]·b[j], one rounding per element, as BLAS's product with an inner
 * dimension of 1 rounds it (a·b + 0 with β = 0), so the same bits. */
#define OUTER_LOOP(T)                                                              \
    WIDEST_VECTORS static void outer_##T(const T *restrict a, Py_ssize_t m, const T *restrict b, \
                                         Py_ssize_t n, T *restrict out)          \
    {                                                                            \
        for (Py_ssize_t i = 0; i < m; i++) {                                     \
            const T ai = a[i];                                                   \
            T *restrict row = out + i * n;                                       \
            for (Py_ssize_t j = 0; j < n; j++)                                   \
                row[j] = ai * b[j];                                              \
        }                                                                        \
    }

OUTER_LOOP(float)
OUTER_LOOP(double)

static PyObject *outer(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *a_obj, *b_obj, *out_obj;
    if (!PyArg_ParseTuple(args, "OOO", &a_obj, &b_obj, &out_obj))
        return NULL;
    Held held = {.count = 0};
    Py_buffer *a, *b, *out;
    if (!(a = take(&held, a_obj, READ, "a")) || !(b = take(&held, b_obj, READ, "b")) ||
        !(out = take(&held, out_obj, WRITE, "out")))
        return NULL;
    const char kind = kind_of(a);
    const Py_ssize_t item = item_size(kind), m = a->len / item, n = b->len / item;
    /* out's shape, not its byte count: m·n·item may overflow where the shape cannot lie. */
    if (kind_of(b) != kind || kind_of(out) != kind || out->ndim != 2 || out->shape[0] != m || out->shape[1] != n)
        return mismatch(&held, "outer kernel: a, b and out must share dtype, and out have shape (len(a), len(b))");
    Py_buffer *const all[] = {a, b, out};
    if (overlaps_any(out, all, 3))
        return mismatch(&held, "outer kernel: out must not overlap a or b");
    Py_BEGIN_ALLOW_THREADS
    if (kind == 'f')
        outer_float(a->buf, m, b->buf, n, out->buf);
    else
        outer_double(a->buf, m, b->buf, n, out->buf);
    Py_END_ALLOW_THREADS
    release(&held);
    Py_RETURN_NONE;
}

/* Softmax cross-entropy of each row of logits z (n rows of c classes) against labels y:
 *   s_i = Σ_k exp(z_ik − m_i),  m_i = max_k z_ik (stable),  p_ic = exp(z_ic − m_i) / s_i
 *   L_i = −(1 − ε)·log p_iy − ε·mean_c log p_ic,  log p_ic = (z_ic − m_i) − log s_i
 * in the array's precision, with one exp per logit (the NumPy path takes two, for
 * log p and p); exp and log come from libm, so values may differ from NumPy's in the
 * last bits. libm's exp is not vectorized: on large batches NumPy's is faster, and the
 * op calls this kernel only on small ones.
 * The rows' total for "sum" and "mean" is accumulated in double and rounded once. */
enum { REDUCE_NONE = 0, REDUCE_SUM = 1, REDUCE_MEAN = 2 };

#define CROSS_ENTROPY_LOOPS(T, EXP, LOG)                                          \
    static void cross_entropy_##T(const T *restrict z, const int64_t *restrict y, \
                                  Py_ssize_t n, Py_ssize_t c, T eps, int reduction, \
                                  T *restrict p, T *restrict out)                \
    {                                                                            \
        double total = 0;                                                        \
        for (Py_ssize_t i = 0; i < n; i++) {                                     \
            const T *row = z + i * c;                                            \
            T *prob = p + i * c;                                                 \
            T m = row[0];                                                        \
            for (Py_ssize_t k = 1; k < c; k++)                                   \
                if (row[k] > m || row[k] != row[k]) /* a NaN wins, as in max */  \
                    m = row[k];                                                  \
            T s = 0, shifted_sum = 0;                                            \
            for (Py_ssize_t k = 0; k < c; k++) {                                 \
                const T shifted = row[k] - m;                                    \
                shifted_sum += shifted;                                          \
                prob[k] = EXP(shifted);                                          \
                s += prob[k];                                                    \
            }                                                                    \
            for (Py_ssize_t k = 0; k < c; k++)                                   \
                prob[k] = prob[k] / s;                                           \
            const T log_s = LOG(s);                                              \
            T loss = -((row[y[i]] - m) - log_s);                                 \
            if (eps != 0) /* mean_c log p_ic = mean_c (z_ic − m_i) − log s_i */  \
                loss = (1 - eps) * loss - eps * (shifted_sum / (T)c - log_s);    \
            if (reduction == REDUCE_NONE)                                        \
                out[i] = loss;                                                   \
            total += loss;                                                       \
        }                                                                        \
        if (reduction != REDUCE_NONE)                                            \
            out[0] = (T)(reduction == REDUCE_MEAN ? total / (double)n : total);  \
    }                                                                            \
                                                                                 \
    /* dz_ic = (p_ic − q_ic)·s_i with q_i = (1 − ε)·onehot(y_i) + ε/c, rounded as the \
     * NumPy path rounds: p − (1 − ε) at the label, then − ε/c, then × s_i, where   \
     * s_i = dy_i (or dy, divided by the batch size for "mean"). */              \
    static void cross_entropy_backward_##T(const T *restrict p, const int64_t *restrict y, \
                                           Py_ssize_t n, Py_ssize_t c, double eps, \
                                           const T *restrict dy, int per_row,    \
                                           Py_ssize_t divisor, T *restrict dz)   \
    {                                                                            \
        const T hit = (T)(1.0 - eps), spread = (T)(eps / (double)c);             \
        for (Py_ssize_t i = 0; i < n; i++) {                                     \
            T s = dy[per_row ? i : 0];                                           \
            if (divisor)                                                         \
                s = s / (T)divisor;                                              \
            const T *prob = p + i * c;                                           \
            T *grad = dz + i * c;                                                \
            if (eps != 0)                                                        \
                for (Py_ssize_t k = 0; k < c; k++)                               \
                    grad[k] = (prob[k] - spread) * s;                            \
            else                                                                 \
                for (Py_ssize_t k = 0; k < c; k++)                               \
                    grad[k] = prob[k] * s;                                       \
            const T at_label = prob[y[i]] - hit;                                 \
            grad[y[i]] = (eps != 0 ? at_label - spread : at_label) * s;          \
        }                                                                        \
    }

CROSS_ENTROPY_LOOPS(float, expf, logf)
CROSS_ENTROPY_LOOPS(double, exp, log)

/* Whether every label indexes one of c classes; ValueError if not. */
static int labels_in_range(const int64_t *y, Py_ssize_t n, Py_ssize_t c)
{
    for (Py_ssize_t i = 0; i < n; i++)
        if ((uint64_t)y[i] >= (uint64_t)c) {
            PyErr_SetString(PyExc_ValueError, "cross_entropy kernel: a label is out of range");
            return 0;
        }
    return 1;
}

static PyObject *cross_entropy(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *logits_obj, *labels_obj, *p_obj, *out_obj;
    Py_ssize_t c;
    double eps;
    int reduction;
    if (!PyArg_ParseTuple(args, "OOndiOO", &logits_obj, &labels_obj, &c, &eps, &reduction, &p_obj, &out_obj))
        return NULL;
    Held held = {.count = 0};
    Py_buffer *logits, *labels, *p, *out;
    if (!(logits = take(&held, logits_obj, READ, "logits")) || !(labels = take(&held, labels_obj, LABELS, "labels")) ||
        !(p = take(&held, p_obj, WRITE, "p")) || !(out = take(&held, out_obj, WRITE, "out")))
        return NULL;
    const char kind = kind_of(logits);
    const Py_ssize_t item = item_size(kind), n = labels->len / 8;
    /* Shapes, not byte counts: n·c·item overflows for a huge c where the shape cannot lie. */
    if (c <= 0 || n <= 0 || reduction < REDUCE_NONE || reduction > REDUCE_MEAN || kind_of(p) != kind ||
        kind_of(out) != kind || logits->ndim != 2 || logits->shape[0] != n || logits->shape[1] != c ||
        !same_shape(p, logits) || out->len != (reduction == REDUCE_NONE ? n : 1) * item)
        return mismatch(&held, "cross_entropy kernel: logits (n, c) and p must match, labels hold n elements, "
                               "out n or 1, n and c at least 1");
    Py_buffer *const all[] = {logits, labels, p, out};
    if (overlaps_any(p, all, 4) || overlaps_any(out, all, 4))
        return mismatch(&held, "cross_entropy kernel: p and out must not overlap each other or the inputs");
    const int64_t *y = labels->buf;
    if (!labels_in_range(y, n, c)) {
        release(&held);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    if (kind == 'f')
        cross_entropy_float(logits->buf, y, n, c, (float)eps, reduction, p->buf, out->buf);
    else
        cross_entropy_double(logits->buf, y, n, c, eps, reduction, p->buf, out->buf);
    Py_END_ALLOW_THREADS
    release(&held);
    Py_RETURN_NONE;
}

static PyObject *cross_entropy_backward(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *p_obj, *labels_obj, *dy_obj, *dz_obj;
    Py_ssize_t c, divisor;
    double eps;
    if (!PyArg_ParseTuple(args, "OOndOnO", &p_obj, &labels_obj, &c, &eps, &dy_obj, &divisor, &dz_obj))
        return NULL;
    Held held = {.count = 0};
    Py_buffer *p, *labels, *dy, *dz;
    if (!(p = take(&held, p_obj, READ, "p")) || !(labels = take(&held, labels_obj, LABELS, "labels")) ||
        !(dy = take(&held, dy_obj, READ, "dy")) || !(dz = take(&held, dz_obj, WRITE, "dz")))
        return NULL;
    const char kind = kind_of(p);
    const Py_ssize_t item = item_size(kind), n = labels->len / 8, rows = dy->len / item;
    if (c <= 0 || n <= 0 || divisor < 0 || kind_of(dy) != kind || kind_of(dz) != kind || p->ndim != 2 ||
        p->shape[0] != n || p->shape[1] != c || !same_shape(dz, p) || (rows != 1 && rows != n))
        return mismatch(&held, "cross_entropy_backward kernel: p and dz (n, c) must match, labels hold n "
                               "elements, dy n or 1, n and c at least 1");
    Py_buffer *const all[] = {p, labels, dy, dz};
    if (overlaps_any(dz, all, 4))
        return mismatch(&held, "cross_entropy_backward kernel: dz must not overlap p, labels or dy");
    const int64_t *y = labels->buf;
    if (!labels_in_range(y, n, c)) { /* checked in the forward, but they may have changed since */
        release(&held);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    if (kind == 'f')
        cross_entropy_backward_float(p->buf, y, n, c, eps, dy->buf, rows == n, divisor, dz->buf);
    else
        cross_entropy_backward_double(p->buf, y, n, c, eps, dy->buf, rows == n, divisor, dz->buf);
    Py_END_ALLOW_THREADS
    release(&held);
    Py_RETURN_NONE;
}

/* ReLU as NumPy computes it: maximum(x, 0) keeps x when x > 0 or x is NaN, else gives
 * +0 (also for x = −0); the backward dy·[y > 0] multiplies by 1 or 0, so that an infinite
 * or NaN dy still gives NaN where the unit is off, as in NumPy. */
#define RELU_LOOPS(T)                                                            \
    WIDEST_VECTORS static void relu_##T(const T *restrict x, Py_ssize_t n, T *restrict y) \
    {                                                                            \
        for (Py_ssize_t i = 0; i < n; i++)                                       \
            y[i] = (x[i] > 0 || x[i] != x[i]) ? x[i] : 0;                        \
    }                                                                            \
                                                                                 \
    WIDEST_VECTORS static void relu_backward_##T(const T *restrict y, const T *restrict dy, \
                                                 Py_ssize_t n, T *restrict dx)   \
    {                                                                            \
        for (Py_ssize_t i = 0; i < n; i++)                                       \
            dx[i] = dy[i] * (T)(y[i] > 0);                                       \
    }

RELU_LOOPS(float)
RELU_LOOPS(double)

/* relu(x, y) and relu_backward(y, dy, dx): arrays of one float dtype and size. */
static PyObject *relu(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *x_obj, *y_obj;
    if (!PyArg_ParseTuple(args, "OO", &x_obj, &y_obj))
        return NULL;
    Held held = {.count = 0};
    Py_buffer *x, *y;
    if (!(x = take(&held, x_obj, READ, "x")) || !(y = take(&held, y_obj, WRITE, "y")))
        return NULL;
    const char kind = kind_of(x);
    if (kind_of(y) != kind || y->len != x->len || !same_shape(x, y))
        return mismatch(&held, "relu kernel: x and y must share dtype and size");
    if (overlap(x, y))
        return mismatch(&held, "relu kernel: y must not overlap x");
    const Py_ssize_t n = x->len / item_size(kind);
    Py_BEGIN_ALLOW_THREADS
    if (kind == 'f')
        relu_float(x->buf, n, y->buf);
    else
        relu_double(x->buf, n, y->buf);
    Py_END_ALLOW_THREADS
    release(&held);
    Py_RETURN_NONE;
}

static PyObject *relu_backward(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *y_obj, *dy_obj, *dx_obj;
    if (!PyArg_ParseTuple(args, "OOO", &y_obj, &dy_obj, &dx_obj))
        return NULL;
    Held held = {.count = 0};
    Py_buffer *y, *dy, *dx;
    if (!(y = take(&held, y_obj, READ, "y")) || !(dy = take(&held, dy_obj, READ, "dy")) ||
        !(dx = take(&held, dx_obj, WRITE, "dx")))
        return NULL;
    const char kind = kind_of(y);
    if (kind_of(dy) != kind || kind_of(dx) != kind || dy->len != y->len || dx->len != y->len ||
        !same_shape(dy, y) || !same_shape(dx, y))
        return mismatch(&held, "relu_backward kernel: y, dy and dx must share dtype and size");
    Py_buffer *const all[] = {y, dy, dx};
    if (overlaps_any(dx, all, 3))
        return mismatch(&held, "relu_backward kernel: dx must not overlap y or dy");
    const Py_ssize_t n = y->len / item_size(kind);
    Py_BEGIN_ALLOW_THREADS
    if (kind == 'f')
        relu_backward_float(y->buf, dy->buf, n, dx->buf);
    else
        relu_backward_double(y->buf, dy->buf, n, dx->buf);
    Py_END_ALLOW_THREADS
    release(&held);
    Py_RETURN_NONE;
}

/* Max pooling on images laid out (A, H, W, B) in memory (see max_pool_backward below): each
 * window's maximum into y (A, Ho, Wo, B) and its kernel offset k = i·kW + j into offsets. The
 * window's first pixel inside the input starts; a later one takes over if it is greater, or
 * NaN (PyTorch's rule: the first maximum wins, a NaN wins over any number, the last NaN over
 * earlier ones; NumPy's path gives the same). Padding is never read. */
#define MAX_POOL_LOOP(T)                                                         \
    WIDEST_VECTORS static void max_pool_##T(const T *restrict x, const Py_ssize_t *shape, \
                                            const int *window, T *restrict y,    \
                                            uint8_t *restrict offsets)           \
    {                                                                            \
        const Py_ssize_t A = shape[0], H = shape[1], W = shape[2], B = shape[3]; \
        const Py_ssize_t Ho = shape[4], Wo = shape[5];                           \
        const int kh = window[0], kw = window[1], sh = window[2], sw = window[3]; \
        const int ph = window[4], pw = window[5];                                \
        for (Py_ssize_t a = 0; a < A; a++)                                       \
            for (Py_ssize_t p = 0; p < Ho; p++)                                  \
                for (Py_ssize_t q = 0; q < Wo; q++) {                            \
                    const Py_ssize_t at = ((a * Ho + p) * Wo + q) * B;           \
                    T *restrict best = y + at;                                   \
                    uint8_t *restrict taken = offsets + at;                      \
                    int started = 0;                                             \
                    for (int k = 0; k < kh * kw; k++) {                          \
                        const Py_ssize_t r = p * sh - ph + k / kw, c = q * sw - pw + k % kw; \
                        if (r < 0 || r >= H || c < 0 || c >= W)                  \
                            continue;                                            \
                        const T *restrict v = x + ((a * H + r) * W + c) * B;     \
                        const uint8_t offset = (uint8_t)k;                       \
                        if (!started) {                                          \
                            for (Py_ssize_t b = 0; b < B; b++) {                 \
                                best[b] = v[b];                                  \
                                taken[b] = offset;                               \
                            }                                                    \
                            started = 1;                                         \
                            continue;                                            \
                        }                                                        \
                        for (Py_ssize_t b = 0; b < B; b++) {                     \
                            const int wins = v[b] > best[b] || v[b] != v[b];     \
                            best[b] = wins ? v[b] : best[b];                     \
                            taken[b] = wins ? offset : taken[b];                 \
                        }                                                        \
                    }                                                            \
                }                                                                \
    }

MAX_POOL_LOOP(float)
MAX_POOL_LOOP(double)

/* max_pool(x, y, offsets, kh, kw, sh, sw, ph, pw): x (A, H, W, B), y and offsets (A, Ho, Wo, B), all
 * C-contiguous; every window must hold a pixel of the input (padding at most half the kernel). */
static PyObject *max_pool(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *x_obj, *y_obj, *offsets_obj;
    int window[6];
    if (!PyArg_ParseTuple(args, "OOOiiiiii", &x_obj, &y_obj, &offsets_obj, &window[0], &window[1], &window[2],
                          &window[3], &window[4], &window[5]))
        return NULL;
    Held held = {.count = 0};
    Py_buffer *x, *y, *offsets;
    if (!(x = take(&held, x_obj, READ, "x")) || !(y = take(&held, y_obj, WRITE, "y")) ||
        !(offsets = take(&held, offsets_obj, OFFSETS, "offsets")))
        return NULL;
    const int kh = window[0], kw = window[1], sh = window[2], sw = window[3], ph = window[4], pw = window[5];
    if (kind_of(y) != kind_of(x) || x->ndim != 4 || y->ndim != 4 || !same_shape(y, offsets) ||
        y->shape[0] != x->shape[0] || y->shape[3] != x->shape[3] || kh < 1 || kw < 1 || kh * kw > 256 ||
        sh < 1 || sw < 1 || ph < 0 || pw < 0 || 2 * ph > kh || 2 * pw > kw ||
        (y->shape[1] - 1) * sh - ph + kh > x->shape[1] + ph || (y->shape[2] - 1) * sw - pw + kw > x->shape[2] + pw)
        return mismatch(&held, "max_pool kernel: x (A, H, W, B), y and offsets (A, Ho, Wo, B) with windows inside "
                               "the padded input, at most 256 kernel offsets, positive strides, padding at most "
                               "half the kernel");
    Py_buffer *const all[] = {x, y, offsets};
    if (overlaps_any(y, all, 3) || overlaps_any(offsets, all, 3))
        return mismatch(&held, "max_pool kernel: y and offsets must not overlap each other or x");
    const Py_ssize_t shape[6] = {x->shape[0], x->shape[1], x->shape[2], x->shape[3], y->shape[1], y->shape[2]};
    Py_BEGIN_ALLOW_THREADS
    if (kind_of(x) == 'f')
        max_pool_float(x->buf, shape, window, y->buf, offsets->buf);
    else
        max_pool_double(x->buf, shape, window, y->buf, offsets->buf);
    Py_END_ALLOW_THREADS
    release(&held);
    Py_RETURN_NONE;
}

/* Max pooling's backward on images laid out (A, H, W, B) in memory: H and W the spatial
 * axes, A the axes outside them, B those inside (NCHW: A = N·C, B = 1; batch-last CHWN:
 * A = C, B = N, the innermost loop). offsets (A, Ho, Wo, B) holds the kernel offset
 * k = i·kW + j each window took its maximum from. Offset by offset, in increasing k as the
 * NumPy path goes, dx[a, p·sH − pH + i, q·sW − pW + j, b] += dy[a, p, q, b] where the window
 * took k, so sums over overlapping windows round in its order. `tiles`: the windows tile the
 * input exactly (kernel = stride, no padding, nothing left over), every pixel is written
 * once, and dx needs no zeroing. Pixels in the padding never take a maximum; they are
 * skipped all the same. Select, not branch: which offset won is random. */
#define MAX_POOL_BACKWARD_LOOP(T)                                                \
    WIDEST_VECTORS static void max_pool_backward_##T(                            \
        const T *restrict dy, const uint8_t *restrict offsets, const Py_ssize_t *shape, \
        const int *window, int tiles, T *restrict dx)                            \
    {                                                                            \
        const Py_ssize_t A = shape[0], H = shape[1], W = shape[2], B = shape[3]; \
        const Py_ssize_t Ho = shape[4], Wo = shape[5];                           \
        const int kh = window[0], kw = window[1], sh = window[2], sw = window[3]; \
        const int ph = window[4], pw = window[5];                                \
        if (!tiles)                                                              \
            memset(dx, 0, (size_t)(A * H * W * B) * sizeof(T));                 \
        for (int k = 0; k < kh * kw; k++) {                                      \
            const int i = k / kw, j = k % kw;                                    \
            const uint8_t taken = (uint8_t)k;                                    \
            for (Py_ssize_t a = 0; a < A; a++)                                   \
                for (Py_ssize_t p = 0; p < Ho; p++) {                            \
                    const Py_ssize_t r = p * sh - ph + i;                        \
                    if (r < 0 || r >= H)                                         \
                        continue;                                                \
                    for (Py_ssize_t q = 0; q < Wo; q++) {                        \
                        const Py_ssize_t c = q * sw - pw + j;                    \
                        if (c < 0 || c >= W)                                     \
                            continue;                                            \
                        const Py_ssize_t from = ((a * Ho + p) * Wo + q) * B;     \
                        const T *restrict g = dy + from;                         \
                        const uint8_t *restrict m = offsets + from;              \
                        T *restrict out = dx + ((a * H + r) * W + c) * B;        \
                        if (tiles)                                               \
                            for (Py_ssize_t b = 0; b < B; b++)                   \
                                out[b] = m[b] == taken ? g[b] : (T)0;            \
                        else                                                     \
                            for (Py_ssize_t b = 0; b < B; b++)                   \
                                out[b] = out[b] + (m[b] == taken ? g[b] : (T)0); \
                    }                                                            \
                }                                                                \
        }                                                                        \
    }

MAX_POOL_BACKWARD_LOOP(float)
MAX_POOL_BACKWARD_LOOP(double)

/* max_pool_backward(dy, offsets, dx, kh, kw, sh, sw, ph, pw): dy and offsets (A, Ho, Wo, B),
 * dx (A, H, W, B), all C-contiguous; dx is written whole. */
static PyObject *max_pool_backward(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *dy_obj, *offsets_obj, *dx_obj;
    int window[6];
    if (!PyArg_ParseTuple(args, "OOOiiiiii", &dy_obj, &offsets_obj, &dx_obj, &window[0], &window[1], &window[2],
                          &window[3], &window[4], &window[5]))
        return NULL;
    Held held = {.count = 0};
    Py_buffer *dy, *offsets, *dx;
    if (!(dy = take(&held, dy_obj, READ, "dy")) || !(offsets = take(&held, offsets_obj, OFFSETS, "offsets")) ||
        !(dx = take(&held, dx_obj, WRITE, "dx")))
        return NULL;
    const int kh = window[0], kw = window[1], sh = window[2], sw = window[3], ph = window[4], pw = window[5];
    if (kind_of(dx) != kind_of(dy) || dy->ndim != 4 || dx->ndim != 4 || !same_shape(dy, offsets) ||
        dx->shape[0] != dy->shape[0] || dx->shape[3] != dy->shape[3] || kh < 1 || kw < 1 || kh * kw > 256 ||
        sh < 1 || sw < 1 || ph < 0 || pw < 0)
        return mismatch(&held, "max_pool_backward kernel: dy and offsets (A, Ho, Wo, B), dx (A, H, W, B), "
                               "at most 256 kernel offsets, positive strides");
    Py_buffer *const all[] = {dy, offsets, dx};
    if (overlaps_any(dx, all, 3))
        return mismatch(&held, "max_pool_backward kernel: dx must not overlap dy or offsets");
    const Py_ssize_t shape[6] = {dx->shape[0], dx->shape[1], dx->shape[2], dx->shape[3], dy->shape[1], dy->shape[2]};
    const int tiles = kh == sh && kw == sw && ph == 0 && pw == 0 && shape[4] * sh == shape[1] && shape[5] * sw == shape[2];
    Py_BEGIN_ALLOW_THREADS
    if (kind_of(dy) == 'f')
        max_pool_backward_float(dy->buf, offsets->buf, shape, window, tiles, dx->buf);
    else
        max_pool_backward_double(dy->buf, offsets->buf, shape, window, tiles, dx->buf);
    Py_END_ALLOW_THREADS
    release(&held);
    Py_RETURN_NONE;
}

/* Sums in double over LANES interleaved partial sums, added up at the end: a fixed order
 * (deterministic), and no single chain of dependent additions, so the loop runs as vectors. */
#define LANES 16

/* Batch normalisation in training, row c of x (C, M) at a time (its channel's M values):
 *   mean = Σx/M,  x̂ = x − mean,  var = Σx̂²/M,  s = 1/√(var + ε),  x̂ ← x̂·s,  y = x̂·γ + β
 * writing x̂, y (when affine: gamma not NULL; beta may be NULL), mean, var and s. */
#define BATCH_NORM_LOOPS(T, SQRT)                                                \
    static inline double row_sum_##T(const T *restrict row, Py_ssize_t M)        \
    {                                                                            \
        double lanes[LANES] = {0}, total = 0;                                    \
        Py_ssize_t j = 0;                                                        \
        for (; j + LANES <= M; j += LANES)                                       \
            for (int l = 0; l < LANES; l++)                                      \
                lanes[l] += row[j + l];                                          \
        for (; j < M; j++)                                                       \
            total += row[j];                                                     \
        for (int l = 0; l < LANES; l++)                                          \
            total += lanes[l];                                                   \
        return total;                                                            \
    }                                                                            \
                                                                                 \
    /* Σ (row − m)², each difference rounded to T first, as x̂ = x − mean is. */ \
    static inline double centred_squares_##T(const T *restrict row, Py_ssize_t M, T m) \
    {                                                                            \
        double lanes[LANES] = {0}, total = 0;                                    \
        Py_ssize_t j = 0;                                                        \
        for (; j + LANES <= M; j += LANES)                                       \
            for (int l = 0; l < LANES; l++) {                                    \
                const T centred = row[j + l] - m;                                \
                lanes[l] += (double)centred * centred;                           \
            }                                                                    \
        for (; j < M; j++) {                                                     \
            const T centred = row[j] - m;                                        \
            total += (double)centred * centred;                                  \
        }                                                                        \
        for (int l = 0; l < LANES; l++)                                          \
            total += lanes[l];                                                   \
        return total;                                                            \
    }                                                                            \
                                                                                 \
    static inline double row_dot_##T(const T *restrict a, const T *restrict b, Py_ssize_t M) \
    {                                                                            \
        double lanes[LANES] = {0}, total = 0;                                    \
        Py_ssize_t j = 0;                                                        \
        for (; j + LANES <= M; j += LANES)                                       \
            for (int l = 0; l < LANES; l++)                                      \
                lanes[l] += (double)a[j + l] * b[j + l];                         \
        for (; j < M; j++)                                                       \
            total += (double)a[j] * b[j];                                        \
        for (int l = 0; l < LANES; l++)                                          \
            total += lanes[l];                                                   \
        return total;                                                            \
    }                                                                            \
                                                                                 \
    WIDEST_VECTORS static void batch_norm_##T(const T *restrict x, Py_ssize_t C, Py_ssize_t M, \
                                              const T *gamma, const T *beta, T eps, \
                                              T *restrict x_hat, T *restrict y, T *mean, \
                                              T *var, T *inv_std)                \
    {                                                                            \
        for (Py_ssize_t c = 0; c < C; c++) {                                     \
            const T *restrict row = x + c * M;                                   \
            T *restrict normed = x_hat + c * M;                                  \
            const T m = (T)(row_sum_##T(row, M) / (double)M);                    \
            const T v = (T)(centred_squares_##T(row, M, m) / (double)M);         \
            const T s = (T)1 / SQRT(v + eps);                                    \
            mean[c] = m;                                                         \
            var[c] = v;                                                          \
            inv_std[c] = s;                                                      \
            for (Py_ssize_t j = 0; j < M; j++)                                   \
                normed[j] = (T)(row[j] - m) * s;                                 \
            if (gamma != NULL) {                                                 \
                T *restrict out = y + c * M;                                     \
                const T g = gamma[c];                                            \
                if (beta != NULL) {                                              \
                    const T b = beta[c];                                         \
                    for (Py_ssize_t j = 0; j < M; j++)                           \
                        out[j] = normed[j] * g + b;                              \
                } else {                                                         \
                    for (Py_ssize_t j = 0; j < M; j++)                           \
                        out[j] = normed[j] * g;                                  \
                }                                                                \
            }                                                                    \
        }                                                                        \
    }                                                                            \
                                                                                 \
    /* Its backward, row by row: dβ = Σdy, dγ = Σdy·x̂, and with a = s·γ (a = s without γ) \
     * dx = a·dy − x̂·(a·dγ/M) − a·dβ/M in training, dx = a·dy with running statistics. */ \
    WIDEST_VECTORS static void batch_norm_backward_##T(const T *restrict dy, const T *restrict x_hat, \
                                                       Py_ssize_t C, Py_ssize_t M, const T *a, \
                                                       int training, T *restrict dx, \
                                                       T *d_beta, T *d_gamma)    \
    {                                                                            \
        for (Py_ssize_t c = 0; c < C; c++) {                                     \
            const T *restrict g = dy + c * M, *restrict h = x_hat + c * M;       \
            const T db = (T)row_sum_##T(g, M), dg = (T)row_dot_##T(g, h, M);     \
            d_beta[c] = db;                                                      \
            d_gamma[c] = dg;                                                     \
            if (dx == NULL)                                                      \
                continue;                                                        \
            T *restrict out = dx + c * M;                                        \
            const T ac = a[c];                                                   \
            if (training) {                                                      \
                const T along_x_hat = ac * dg / (T)M, constant = ac * db / (T)M; \
                for (Py_ssize_t j = 0; j < M; j++)                               \
                    out[j] = (g[j] * ac - h[j] * along_x_hat) - constant;        \
            } else {                                                             \
                for (Py_ssize_t j = 0; j < M; j++)                               \
                    out[j] = g[j] * ac;                                          \
            }                                                                    \
        }                                                                        \
    }

BATCH_NORM_LOOPS(float, sqrtf)
BATCH_NORM_LOOPS(double, sqrt)

/* A (C,) view of one dtype, or NULL for None; 0 (exception set, everything released) on failure. */
static int take_channels(Held *held, PyObject *obj, enum Access access, const char *name, char kind,
                         Py_ssize_t C, Py_buffer **view)
{
    *view = NULL;
    if (obj == Py_None)
        return 1;
    if (!(*view = take(held, obj, access, name)))
        return 0;
    if (kind_of(*view) != kind || (*view)->len != C * item_size(kind)) {
        mismatch(held, "batch_norm kernel: per-channel arrays hold C values of x's dtype");
        return 0;
    }
    return 1;
}

/* batch_norm(x, gamma, beta, eps, x_hat, y, mean, var, inv_std): x, x_hat, y (C, M); the rest (C,);
 * gamma, beta and y may be None (y is needed with gamma). */
static PyObject *batch_norm(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *x_obj, *gamma_obj, *beta_obj, *x_hat_obj, *y_obj, *mean_obj, *var_obj, *inv_std_obj;
    double eps;
    if (!PyArg_ParseTuple(args, "OOOdOOOOO", &x_obj, &gamma_obj, &beta_obj, &eps, &x_hat_obj, &y_obj, &mean_obj,
                          &var_obj, &inv_std_obj))
        return NULL;
    Held held = {.count = 0};
    Py_buffer *x, *x_hat;
    if (!(x = take(&held, x_obj, READ, "x")) || !(x_hat = take(&held, x_hat_obj, WRITE, "x_hat")))
        return NULL;
    const char kind = kind_of(x);
    if (x->ndim != 2 || x->shape[1] < 1 || kind_of(x_hat) != kind || !same_shape(x, x_hat))
        return mismatch(&held, "batch_norm kernel: x and x_hat (C, M) of one dtype, M at least 1");
    const Py_ssize_t C = x->shape[0], M = x->shape[1];
    Py_buffer *y = NULL, *gamma, *beta, *mean, *var, *inv_std;
    if (y_obj != Py_None) {
        if (!(y = take(&held, y_obj, WRITE, "y")))
            return NULL;
        if (kind_of(y) != kind || !same_shape(x, y))
            return mismatch(&held, "batch_norm kernel: y must match x");
    }
    if (!take_channels(&held, gamma_obj, READ, "gamma", kind, C, &gamma) ||
        !take_channels(&held, beta_obj, READ, "beta", kind, C, &beta) ||
        !take_channels(&held, mean_obj, WRITE, "mean", kind, C, &mean) ||
        !take_channels(&held, var_obj, WRITE, "var", kind, C, &var) ||
        !take_channels(&held, inv_std_obj, WRITE, "inv_std", kind, C, &inv_std))
        return NULL;
    if (mean == NULL || var == NULL || inv_std == NULL || (gamma == NULL) != (y == NULL) ||
        (beta != NULL && gamma == NULL))
        return mismatch(&held, "batch_norm kernel: mean, var and inv_std are needed, y and gamma go together, "
                               "beta needs gamma");
    Py_buffer *const all[] = {x, gamma, beta, x_hat, y, mean, var, inv_std};
    for (int i = 3; i < 8; i++)
        if (all[i] != NULL && overlaps_any(all[i], all, 8))
            return mismatch(&held, "batch_norm kernel: the outputs must not overlap each other or the inputs");
    Py_BEGIN_ALLOW_THREADS
    if (kind == 'f')
        batch_norm_float(x->buf, C, M, gamma ? gamma->buf : NULL, beta ? beta->buf : NULL, (float)eps, x_hat->buf,
                         y ? y->buf : NULL, mean->buf, var->buf, inv_std->buf);
    else
        batch_norm_double(x->buf, C, M, gamma ? gamma->buf : NULL, beta ? beta->buf : NULL, eps, x_hat->buf,
                          y ? y->buf : NULL, mean->buf, var->buf, inv_std->buf);
    Py_END_ALLOW_THREADS
    release(&held);
    Py_RETURN_NONE;
}

/* batch_norm_backward(dy, x_hat, a, training, dx, d_beta, d_gamma): dy, x_hat, dx (C, M), dx None when
 * x needs no gradient; a, d_beta, d_gamma (C,). */
static PyObject *batch_norm_backward(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *dy_obj, *x_hat_obj, *a_obj, *dx_obj, *d_beta_obj, *d_gamma_obj;
    int training;
    if (!PyArg_ParseTuple(args, "OOOpOOO", &dy_obj, &x_hat_obj, &a_obj, &training, &dx_obj, &d_beta_obj,
                          &d_gamma_obj))
        return NULL;
    Held held = {.count = 0};
    Py_buffer *dy, *x_hat, *dx = NULL, *a, *d_beta, *d_gamma;
    if (!(dy = take(&held, dy_obj, READ, "dy")) || !(x_hat = take(&held, x_hat_obj, READ, "x_hat")))
        return NULL;
    const char kind = kind_of(dy);
    if (dy->ndim != 2 || dy->shape[1] < 1 || kind_of(x_hat) != kind || !same_shape(dy, x_hat))
        return mismatch(&held, "batch_norm_backward kernel: dy and x_hat (C, M) of one dtype, M at least 1");
    const Py_ssize_t C = dy->shape[0], M = dy->shape[1];
    if (dx_obj != Py_None) {
        if (!(dx = take(&held, dx_obj, WRITE, "dx")))
            return NULL;
        if (kind_of(dx) != kind || !same_shape(dx, dy))
            return mismatch(&held, "batch_norm_backward kernel: dx must match dy");
    }
    if (!take_channels(&held, a_obj, READ, "a", kind, C, &a) ||
        !take_channels(&held, d_beta_obj, WRITE, "d_beta", kind, C, &d_beta) ||
        !take_channels(&held, d_gamma_obj, WRITE, "d_gamma", kind, C, &d_gamma))
        return NULL;
    if (a == NULL || d_beta == NULL || d_gamma == NULL)
        return mismatch(&held, "batch_norm_backward kernel: a, d_beta and d_gamma are needed");
    Py_buffer *const all[] = {dy, x_hat, a, dx, d_beta, d_gamma};
    for (int i = 3; i < 6; i++)
        if (all[i] != NULL && overlaps_any(all[i], all, 6))
            return mismatch(&held, "batch_norm_backward kernel: the outputs must not overlap each other or the inputs");
    Py_BEGIN_ALLOW_THREADS
    if (kind == 'f')
        batch_norm_backward_float(dy->buf, x_hat->buf, C, M, a->buf, training, dx ? dx->buf : NULL, d_beta->buf,
                                  d_gamma->buf);
    else
        batch_norm_backward_double(dy->buf, x_hat->buf, C, M, a->buf, training, dx ? dx->buf : NULL, d_beta->buf,
                                   d_gamma->buf);
    Py_END_ALLOW_THREADS
    release(&held);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"outer", outer, METH_VARARGS, "outer(a, b, out): out[i, j] = a[i]·b[j]"},
    {"relu", relu, METH_VARARGS, "relu(x, y): y = maximum(x, 0)"},
    {"relu_backward", relu_backward, METH_VARARGS, "relu_backward(y, dy, dx): dx = dy·[y > 0]"},
    {"batch_norm", batch_norm, METH_VARARGS,
     "batch_norm(x, gamma, beta, eps, x_hat, y, mean, var, inv_std): batch normalisation in training, by channel rows"},
    {"batch_norm_backward", batch_norm_backward, METH_VARARGS,
     "batch_norm_backward(dy, x_hat, a, training, dx, d_beta, d_gamma): its gradients"},
    {"max_pool", max_pool, METH_VARARGS,
     "max_pool(x, y, offsets, kh, kw, sh, sw, ph, pw): each window's maximum and the kernel offset it came from"},
    {"max_pool_backward", max_pool_backward, METH_VARARGS,
     "max_pool_backward(dy, offsets, dx, kh, kw, sh, sw, ph, pw): max pooling's gradient routed to the maxima"},
    {"cross_entropy", cross_entropy, METH_VARARGS,
     "cross_entropy(logits, labels, classes, smoothing, reduction, p, out): softmax cross-entropy forward"},
    {"cross_entropy_backward", cross_entropy_backward, METH_VARARGS,
     "cross_entropy_backward(p, labels, classes, smoothing, dy, divisor, dz): its gradient"},
    {"sgd", sgd, METH_VARARGS,
     "sgd(param, grad, buffer, lr, momentum, dampening, weight_decay, nesterov, maximize, first): "
     "one fused SGD update in place"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_kernels", "chainrule's compiled loops: the fused SGD update, the outer product, ReLU, softmax cross-entropy, "
    "max pooling's backward, batch normalisation.", -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__kernels(void) { return PyModule_Create(&module); }
