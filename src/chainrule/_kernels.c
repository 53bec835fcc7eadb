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
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

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

static PyMethodDef methods[] = {
    {"outer", outer, METH_VARARGS, "outer(a, b, out): out[i, j] = a[i]·b[j]"},
    {"sgd", sgd, METH_VARARGS,
     "sgd(param, grad, buffer, lr, momentum, dampening, weight_decay, nesterov, maximize, first): "
     "one fused SGD update in place"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_kernels", "chainrule's compiled loops: the fused SGD update, the outer product.", -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__kernels(void) { return PyModule_Create(&module); }
