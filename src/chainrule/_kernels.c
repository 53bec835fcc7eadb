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

/* A C-contiguous float32/float64 view of obj; 'f' or 'd' in *code. */
static int get_array(PyObject *obj, Py_buffer *view, int writable, const char *name)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0)
        return -1;
    const char *format = view->format;
    if (format[0] == '<' || format[0] == '=' || format[0] == '@')
        format++;
    if ((format[0] != 'f' && format[0] != 'd') || format[1] != '\0') {
        PyErr_Format(PyExc_TypeError, "kernel: %s must be float32 or float64, got format '%s'",
                     name, view->format);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static PyObject *sgd(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *param_obj, *grad_obj, *buffer_obj;
    SGDOptions o;
    if (!PyArg_ParseTuple(args, "OOOddddppp", &param_obj, &grad_obj, &buffer_obj, &o.lr, &o.momentum,
                          &o.dampening, &o.weight_decay, &o.nesterov, &o.maximize, &o.first))
        return NULL;
    Py_buffer param, grad, buffer;
    int has_buffer = buffer_obj != Py_None;
    if (get_array(param_obj, &param, 1, "param") < 0)
        return NULL;
    if (get_array(grad_obj, &grad, 0, "grad") < 0) {
        PyBuffer_Release(&param);
        return NULL;
    }
    if (has_buffer && get_array(buffer_obj, &buffer, 1, "momentum buffer") < 0) {
        PyBuffer_Release(&param);
        PyBuffer_Release(&grad);
        return NULL;
    }
    PyObject *result = Py_None;
    char kind = param.format[strlen(param.format) - 1];
    if (grad.format[strlen(grad.format) - 1] != kind || grad.len != param.len ||
        (has_buffer && (buffer.format[strlen(buffer.format) - 1] != kind || buffer.len != param.len))) {
        PyErr_SetString(PyExc_ValueError, "sgd kernel: param, grad and momentum buffer must share dtype and size");
        result = NULL;
    } else {
        Py_BEGIN_ALLOW_THREADS
        if (kind == 'f')
            sgd_float(param.buf, grad.buf, has_buffer ? buffer.buf : NULL, param.len / sizeof(float), &o);
        else
            sgd_double(param.buf, grad.buf, has_buffer ? buffer.buf : NULL, param.len / sizeof(double), &o);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&param);
    PyBuffer_Release(&grad);
    if (has_buffer)
        PyBuffer_Release(&buffer);
    Py_XINCREF(result);
    return result;
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
    Py_buffer a, b, out;
    if (get_array(a_obj, &a, 0, "a") < 0)
        return NULL;
    if (get_array(b_obj, &b, 0, "b") < 0) {
        PyBuffer_Release(&a);
        return NULL;
    }
    if (get_array(out_obj, &out, 1, "out") < 0) {
        PyBuffer_Release(&a);
        PyBuffer_Release(&b);
        return NULL;
    }
    PyObject *result = Py_None;
    char kind = a.format[strlen(a.format) - 1];
    Py_ssize_t item = kind == 'f' ? (Py_ssize_t)sizeof(float) : (Py_ssize_t)sizeof(double);
    Py_ssize_t m = a.len / item, n = b.len / item;
    if (b.format[strlen(b.format) - 1] != kind || out.format[strlen(out.format) - 1] != kind || out.len != m * n * item) {
        PyErr_SetString(PyExc_ValueError, "outer kernel: a, b and out must share dtype, and out hold len(a)·len(b) elements");
        result = NULL;
    } else {
        Py_BEGIN_ALLOW_THREADS
        if (kind == 'f')
            outer_float(a.buf, m, b.buf, n, out.buf);
        else
            outer_double(a.buf, m, b.buf, n, out.buf);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&a);
    PyBuffer_Release(&b);
    PyBuffer_Release(&out);
    Py_XINCREF(result);
    return result;
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

/* A C-contiguous int64 view of obj. */
static int get_labels(PyObject *obj, Py_buffer *view)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return -1;
    const char *format = view->format;
    if (format[0] == '<' || format[0] == '=' || format[0] == '@')
        format++;
    if (view->itemsize != 8 || (format[0] != 'q' && format[0] != 'l') || format[1] != '\0') {
        PyErr_Format(PyExc_TypeError, "kernel: labels must be int64, got format '%s'", view->format);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* Whether every label indexes one of c classes; sets ValueError if not. */
static int labels_in_range(const int64_t *y, Py_ssize_t n, Py_ssize_t c)
{
    for (Py_ssize_t i = 0; i < n; i++)
        if ((uint64_t)y[i] >= (uint64_t)c) {
            PyErr_SetString(PyExc_ValueError, "cross_entropy kernel: a label is out of range");
            return 0;
        }
    return 1;
}

static char kind_of(const Py_buffer *view) { return view->format[strlen(view->format) - 1]; }

static PyObject *cross_entropy(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *logits_obj, *labels_obj, *p_obj, *out_obj;
    Py_ssize_t c;
    double eps;
    int reduction;
    if (!PyArg_ParseTuple(args, "OOndiOO", &logits_obj, &labels_obj, &c, &eps, &reduction, &p_obj, &out_obj))
        return NULL;
    Py_buffer logits, labels, p, out;
    if (get_array(logits_obj, &logits, 0, "logits") < 0)
        return NULL;
    if (get_labels(labels_obj, &labels) < 0) {
        PyBuffer_Release(&logits);
        return NULL;
    }
    if (get_array(p_obj, &p, 1, "p") < 0) {
        PyBuffer_Release(&logits);
        PyBuffer_Release(&labels);
        return NULL;
    }
    if (get_array(out_obj, &out, 1, "out") < 0) {
        PyBuffer_Release(&logits);
        PyBuffer_Release(&labels);
        PyBuffer_Release(&p);
        return NULL;
    }
    PyObject *result = Py_None;
    const char kind = kind_of(&logits);
    const Py_ssize_t item = kind == 'f' ? (Py_ssize_t)sizeof(float) : (Py_ssize_t)sizeof(double);
    const Py_ssize_t n = labels.len / 8;
    const int64_t *y = labels.buf;
    if (c <= 0 || n <= 0 || reduction < REDUCE_NONE || reduction > REDUCE_MEAN || kind_of(&p) != kind ||
        kind_of(&out) != kind || logits.len != n * c * item || p.len != logits.len ||
        out.len != (reduction == REDUCE_NONE ? n : 1) * item) {
        PyErr_SetString(PyExc_ValueError, "cross_entropy kernel: logits (n, c) and p must match, labels hold n "
                                          "elements, out n or 1, n and c at least 1");
        result = NULL;
    } else if (!labels_in_range(y, n, c)) {
        result = NULL;
    }
    if (result != NULL) {
        Py_BEGIN_ALLOW_THREADS
        if (kind == 'f')
            cross_entropy_float(logits.buf, y, n, c, (float)eps, reduction, p.buf, out.buf);
        else
            cross_entropy_double(logits.buf, y, n, c, eps, reduction, p.buf, out.buf);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&logits);
    PyBuffer_Release(&labels);
    PyBuffer_Release(&p);
    PyBuffer_Release(&out);
    Py_XINCREF(result);
    return result;
}

static PyObject *cross_entropy_backward(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *p_obj, *labels_obj, *dy_obj, *dz_obj;
    Py_ssize_t c, divisor;
    double eps;
    if (!PyArg_ParseTuple(args, "OOndOnO", &p_obj, &labels_obj, &c, &eps, &dy_obj, &divisor, &dz_obj))
        return NULL;
    Py_buffer p, labels, dy, dz;
    if (get_array(p_obj, &p, 0, "p") < 0)
        return NULL;
    if (get_labels(labels_obj, &labels) < 0) {
        PyBuffer_Release(&p);
        return NULL;
    }
    if (get_array(dy_obj, &dy, 0, "dy") < 0) {
        PyBuffer_Release(&p);
        PyBuffer_Release(&labels);
        return NULL;
    }
    if (get_array(dz_obj, &dz, 1, "dz") < 0) {
        PyBuffer_Release(&p);
        PyBuffer_Release(&labels);
        PyBuffer_Release(&dy);
        return NULL;
    }
    PyObject *result = Py_None;
    const char kind = kind_of(&p);
    const Py_ssize_t item = kind == 'f' ? (Py_ssize_t)sizeof(float) : (Py_ssize_t)sizeof(double);
    const Py_ssize_t n = labels.len / 8, rows = dy.len / item;
    if (c <= 0 || n <= 0 || divisor < 0 || kind_of(&dy) != kind || kind_of(&dz) != kind ||
        p.len != n * c * item || dz.len != p.len || (rows != 1 && rows != n)) {
        PyErr_SetString(PyExc_ValueError, "cross_entropy_backward kernel: p and dz (n, c) must match, labels "
                                          "hold n elements, dy n or 1, n and c at least 1");
        result = NULL;
    } else if (!labels_in_range(labels.buf, n, c)) { /* checked in the forward, but they may have changed */
        result = NULL;
    } else {
        Py_BEGIN_ALLOW_THREADS
        if (kind == 'f')
            cross_entropy_backward_float(p.buf, labels.buf, n, c, eps, dy.buf, rows == n, divisor, dz.buf);
        else
            cross_entropy_backward_double(p.buf, labels.buf, n, c, eps, dy.buf, rows == n, divisor, dz.buf);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&p);
    PyBuffer_Release(&labels);
    PyBuffer_Release(&dy);
    PyBuffer_Release(&dz);
    Py_XINCREF(result);
    return result;
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

/* Arrays a, b (optional, NULL) and out of one float dtype and size: 'f' or 'd', or 0 with
 * an exception set and every view released. */
static char get_elementwise(PyObject *a_obj, PyObject *b_obj, PyObject *out_obj, Py_buffer *a, Py_buffer *b,
                            Py_buffer *out)
{
    if (get_array(a_obj, a, 0, "input") < 0)
        return 0;
    if (b_obj != NULL && get_array(b_obj, b, 0, "input") < 0) {
        PyBuffer_Release(a);
        return 0;
    }
    if (get_array(out_obj, out, 1, "out") < 0) {
        PyBuffer_Release(a);
        if (b_obj != NULL)
            PyBuffer_Release(b);
        return 0;
    }
    const char kind = kind_of(a);
    if (kind_of(out) == kind && out->len == a->len && (b_obj == NULL || (kind_of(b) == kind && b->len == a->len)))
        return kind;
    PyErr_SetString(PyExc_ValueError, "kernel: the arrays must share dtype and size");
    PyBuffer_Release(a);
    if (b_obj != NULL)
        PyBuffer_Release(b);
    PyBuffer_Release(out);
    return 0;
}

static PyObject *relu(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *x_obj, *y_obj;
    if (!PyArg_ParseTuple(args, "OO", &x_obj, &y_obj))
        return NULL;
    Py_buffer x, y;
    const char kind = get_elementwise(x_obj, NULL, y_obj, &x, NULL, &y);
    if (!kind)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    if (kind == 'f')
        relu_float(x.buf, x.len / (Py_ssize_t)sizeof(float), y.buf);
    else
        relu_double(x.buf, x.len / (Py_ssize_t)sizeof(double), y.buf);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&x);
    PyBuffer_Release(&y);
    Py_RETURN_NONE;
}

static PyObject *relu_backward(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *y_obj, *dy_obj, *dx_obj;
    if (!PyArg_ParseTuple(args, "OOO", &y_obj, &dy_obj, &dx_obj))
        return NULL;
    Py_buffer y, dy, dx;
    const char kind = get_elementwise(y_obj, dy_obj, dx_obj, &y, &dy, &dx);
    if (!kind)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    if (kind == 'f')
        relu_backward_float(y.buf, dy.buf, y.len / (Py_ssize_t)sizeof(float), dx.buf);
    else
        relu_backward_double(y.buf, dy.buf, y.len / (Py_ssize_t)sizeof(double), dx.buf);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&y);
    PyBuffer_Release(&dy);
    PyBuffer_Release(&dx);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"outer", outer, METH_VARARGS, "outer(a, b, out): out[i, j] = a[i]·b[j]"},
    {"relu", relu, METH_VARARGS, "relu(x, y): y = maximum(x, 0)"},
    {"relu_backward", relu_backward, METH_VARARGS, "relu_backward(y, dy, dx): dx = dy·[y > 0]"},
    {"cross_entropy", cross_entropy, METH_VARARGS,
     "cross_entropy(logits, labels, classes, smoothing, reduction, p, out): softmax cross-entropy forward"},
    {"cross_entropy_backward", cross_entropy_backward, METH_VARARGS,
     "cross_entropy_backward(p, labels, classes, smoothing, dy, divisor, dz): its gradient"},
    {"sgd", sgd, METH_VARARGS,
     "sgd(param, grad, buffer, lr, momentum, dampening, weight_decay, nesterov, maximize, first): "
     "one fused SGD update in place"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_kernels", "chainrule's compiled loops: the fused SGD update, the outer product, ReLU, softmax cross-entropy.", -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__kernels(void) { return PyModule_Create(&module); }
