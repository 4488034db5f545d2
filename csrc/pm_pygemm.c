/*
 * pm_pygemm.c -- Python's gemm() without the binding's per-call cost.
 *
 * For a small product, checking three arrays in Python and turning them into
 * cffi pointers costs more than the product itself (about 2 us, against
 * numpy.matmul's 1 us for the whole call). pm_py_bind_gemm installs, in place
 * of the Python gemm, a METH_FASTCALL builtin that takes the common call --
 * C-contiguous 2-D float32 or float64 ndarrays, known keywords -- through the
 * buffer protocol straight to pm_gemm_disjoint, with the GIL released, as
 * cffi would. Every other call, and any call C refuses, goes unchanged to the
 * module's checked Python path, _gemm_checked, which raises the errors. So
 * the builtin only ever does what the Python path would do, sooner.
 *
 * Without a workspace each OS thread reuses a private one (as the Python path
 * does per Python thread), freed when the thread ends.
 */
#include <patchlevel.h>

#if PY_VERSION_HEX >= 0x030B0000 /* PyObject_GetBuffer joined the limited API in 3.11 */
#define Py_LIMITED_API 0x030B0000
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pm_internal.h"

enum { KW_TRANS_A, KW_TRANS_B, KW_ALPHA, KW_BETA, KW_C, KW_WORK, N_KW };
static const char *const kw_text[N_KW] = {"trans_a", "trans_b", "alpha", "beta", "c", "work"};

/* Set once by pm_py_bind_gemm; references held for the life of the process.
 * None too, fetched rather than named: Py_None is a data symbol, and the
 * core must stay loadable by C programs that never start Python. */
static PyObject *kw_names[N_KW];
static PyObject *none, *checked_gemm, *ndarray_type, *np_empty, *dtype_f32, *dtype_f64;

/* ------------------------------------------------ per-thread workspace */

typedef struct {
    int64_t bytes;
    unsigned char data[];
} thread_work;

static pthread_key_t work_key;

static void free_work(void *p) { free(p); }

/* This thread's workspace, grown to at least `bytes`; NULL when out of memory. */
static thread_work *thread_workspace(int64_t bytes)
{
    thread_work *w = pthread_getspecific(work_key);
    if (w != NULL && w->bytes >= bytes)
        return w;
    thread_work *grown = malloc(sizeof *grown + (size_t)bytes);
    if (grown == NULL)
        return NULL;
    grown->bytes = bytes;
    if (pthread_setspecific(work_key, grown) != 0) {
        free(grown);
        return NULL;
    }
    free(w);
    return grown;
}

/* ------------------------------------------------------------ the call */

/* The checked Python gemm, called with this call's own arguments. */
static PyObject *call_checked(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *pos = PyTuple_New(nargs), *kw = NULL, *result = NULL;
    if (pos == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < nargs; i++) {
        Py_INCREF(args[i]);
        PyTuple_SetItem(pos, i, args[i]);
    }
    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_Size(kwnames);
    if (nkw > 0 && (kw = PyDict_New()) == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < nkw; i++)
        if (PyDict_SetItem(kw, PyTuple_GetItem(kwnames, i), args[nargs + i]) != 0)
            goto done;
    result = PyObject_Call(checked_gemm, pos, kw);
done:
    Py_DECREF(pos);
    Py_XDECREF(kw);
    return result;
}

static int keyword_index(PyObject *name)
{
    for (int i = 0; i < N_KW; i++)
        if (name == kw_names[i])
            return i;
    for (int i = 0; i < N_KW; i++)
        if (PyUnicode_Compare(name, kw_names[i]) == 0)
            return i;
    PyErr_Clear();
    return -1;
}

/* A view of an exact ndarray, C-contiguous, with its format; 0 on success,
 * -1 (no error set) when obj is anything else or refuses the flags. */
static int array_view(PyObject *obj, Py_buffer *view, int flags)
{
    if (Py_TYPE(obj) != (PyTypeObject *)ndarray_type)
        return -1;
    if (PyObject_GetBuffer(obj, view, flags | PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) != 0) {
        PyErr_Clear();
        return -1;
    }
    return 0;
}

/* 4 for float32, 8 for float64, 0 for any other element type. */
static int float_size(const Py_buffer *v)
{
    if (v->format == NULL || v->format[0] == '\0' || v->format[1] != '\0')
        return 0;
    if (v->format[0] == 'f' && v->itemsize == 4)
        return 4;
    if (v->format[0] == 'd' && v->itemsize == 8)
        return 8;
    return 0;
}

static int truth(PyObject *obj, int *out)
{
    int t = obj == NULL ? 0 : PyObject_IsTrue(obj);
    if (t < 0) {
        PyErr_Clear();
        return -1;
    }
    *out = t;
    return 0;
}

static int real(PyObject *obj, double fallback, double *out)
{
    if (obj == NULL) {
        *out = fallback;
        return 0;
    }
    *out = PyFloat_AsDouble(obj);
    if (*out == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        return -1;
    }
    return 0;
}

static PyObject *fast_gemm(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    (void)self;
    PyObject *kw[N_KW] = {NULL};
    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_Size(kwnames);
    if (nargs != 2)
        return call_checked(args, nargs, kwnames);
    for (Py_ssize_t i = 0; i < nkw; i++) {
        int at = keyword_index(PyTuple_GetItem(kwnames, i));
        if (at < 0)
            return call_checked(args, nargs, kwnames);
        kw[at] = args[nargs + i];
    }
    int trans_a, trans_b;
    double alpha, beta;
    PyObject *c = kw[KW_C] == none ? NULL : kw[KW_C];
    PyObject *work = kw[KW_WORK] == none ? NULL : kw[KW_WORK];
    if (truth(kw[KW_TRANS_A], &trans_a) || truth(kw[KW_TRANS_B], &trans_b)
        || real(kw[KW_ALPHA], 1.0, &alpha) || real(kw[KW_BETA], 0.0, &beta)
        || (c == NULL && beta != 0.0))
        return call_checked(args, nargs, kwnames);

    Py_buffer va, vb, vc, vw;
    int held = 0;    /* views taken: a, b, c, work in turn */
    int checked = 1; /* hand the call to the checked path */
    PyObject *result = NULL;
    int size = 0;
    if (array_view(args[0], &va, 0) != 0)
        goto out;
    held = 1;
    if (array_view(args[1], &vb, 0) != 0)
        goto out;
    held = 2;
    size = float_size(&va);
    if (size == 0 || va.ndim != 2 || vb.ndim != 2 || float_size(&vb) != size)
        goto out;
    const Py_ssize_t ra = va.shape[0], ca = va.shape[1], rb = vb.shape[0], cb = vb.shape[1];
    const Py_ssize_t m = trans_a ? ca : ra, k = trans_a ? ra : ca;
    const Py_ssize_t kb = trans_b ? cb : rb, n = trans_b ? rb : cb;
    if (k != kb)
        goto out;
    if (c == NULL) {
        result = PyObject_CallFunction(np_empty, "((nn)O)", m, n, size == 4 ? dtype_f32 : dtype_f64);
        if (result == NULL) { /* numpy's error (MemoryError) stands */
            checked = 0;
            goto out;
        }
        c = result;
    }
    if (array_view(c, &vc, PyBUF_WRITABLE) != 0)
        goto out;
    held = 3;
    if (float_size(&vc) != size || vc.ndim != 2 || vc.shape[0] != m || vc.shape[1] != n)
        goto out;
    if (work != NULL) {
        if (array_view(work, &vw, PyBUF_WRITABLE) != 0)
            goto out;
        held = 4;
        if (strcmp(vw.format, "B") != 0)
            goto out;
    }

    const int64_t need = size == 4 ? pm_gemm_workspace_size_f32(m, n, k)
                                   : pm_gemm_workspace_size_f64(m, n, k);
    int status;
    Py_BEGIN_ALLOW_THREADS
    void *pw = NULL;
    int64_t nw = 0;
    if (work != NULL) {
        pw = vw.buf;
        nw = vw.len;
    } else {
        thread_work *w = thread_workspace(need); /* NULL: C reports PM_ENOMEM */
        if (w != NULL) {
            pw = w->data;
            nw = w->bytes;
        }
    }
    if (size == 4)
        status = pm_gemm_disjoint_f32(trans_a, trans_b, m, n, k, (float)alpha, va.buf, ca ? ca : 1,
                                      vb.buf, cb ? cb : 1, (float)beta, vc.buf, n ? n : 1, pw, nw);
    else
        status = pm_gemm_disjoint_f64(trans_a, trans_b, m, n, k, alpha, va.buf, ca ? ca : 1,
                                      vb.buf, cb ? cb : 1, beta, vc.buf, n ? n : 1, pw, nw);
    Py_END_ALLOW_THREADS
    if (status == PM_OK) {
        if (result == NULL) {
            Py_INCREF(c);
            result = c;
        }
        checked = 0;
    }
out:
    if (held >= 4) PyBuffer_Release(&vw);
    if (held >= 3) PyBuffer_Release(&vc);
    if (held >= 2) PyBuffer_Release(&vb);
    if (held >= 1) PyBuffer_Release(&va);
    if (!checked)
        return result;
    /* Whatever stopped the fast path, the checked path meets it again and
     * says what it is (or, for a kind of input left to it, computes). */
    Py_XDECREF(result);
    return call_checked(args, nargs, kwnames);
}

static PyMethodDef fast_gemm_def = {
    "gemm",
    (PyCFunction)(void (*)(void))fast_gemm,
    METH_FASTCALL | METH_KEYWORDS,
    "gemm(a, b, *, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, c=None, work=None)\n--\n\n"
    "Return c = alpha * op(a) @ op(b) + beta * c, op(x) = x.T when trans_x.\n\n"
    "``c`` (written in place when given) must not overlap ``a`` or ``b``; with\n"
    "beta == 0 its old contents are never read. ``work`` is a buffer from\n"
    "workspace(); without it each thread reuses a private one.",
};

/* ------------------------------------------------------------ binding */

/* A new reference to module.attr, or NULL. */
static PyObject *attribute_of(const char *module, const char *attr)
{
    PyObject *mod = PyImport_ImportModule(module);
    if (mod == NULL)
        return NULL;
    PyObject *value = PyObject_GetAttrString(mod, attr);
    Py_DECREF(mod);
    return value;
}

static int bind(const char *module, const char *name)
{
    if (checked_gemm == NULL) {
        if (pthread_key_create(&work_key, free_work) != 0)
            return PM_ENOMEM;
        for (int i = 0; i < N_KW; i++)
            if ((kw_names[i] = PyUnicode_InternFromString(kw_text[i])) == NULL)
                return PM_ENOMEM;
        none = Py_BuildValue("");
        PyObject *dtype = attribute_of("numpy", "dtype");
        if (dtype == NULL)
            return PM_EUNSUPPORTED;
        dtype_f32 = PyObject_CallFunction(dtype, "s", "float32");
        dtype_f64 = PyObject_CallFunction(dtype, "s", "float64");
        Py_DECREF(dtype);
        ndarray_type = attribute_of("numpy", "ndarray");
        np_empty = attribute_of("numpy", "empty");
        checked_gemm = attribute_of(module, "_gemm_checked");
        if (!none || !dtype_f32 || !dtype_f64 || !ndarray_type || !np_empty || !checked_gemm
            || !PyType_Check(ndarray_type) || !PyCallable_Check(checked_gemm)) {
            Py_CLEAR(checked_gemm);
            return PM_EUNSUPPORTED;
        }
    }
    PyObject *mod = PyImport_ImportModule(module);
    if (mod == NULL)
        return PM_EUNSUPPORTED;
    PyObject *modname = PyUnicode_FromString(module);
    PyObject *fn = modname == NULL ? NULL : PyCFunction_NewEx(&fast_gemm_def, NULL, modname);
    int ok = fn != NULL && PyObject_SetAttrString(mod, name, fn) == 0;
    Py_XDECREF(fn);
    Py_XDECREF(modname);
    Py_DECREF(mod);
    return ok ? PM_OK : PM_EUNSUPPORTED;
}

int pm_py_bind_gemm(const char *module, const char *name)
{
    if (module == NULL || name == NULL)
        return PM_EINVAL;
    PyGILState_STATE gil = PyGILState_Ensure();
    int status = bind(module, name);
    if (status != PM_OK)
        PyErr_Clear();
    PyGILState_Release(gil);
    return status;
}

#else /* Python < 3.11: the Python path stays */

#include "pm_internal.h"

int pm_py_bind_gemm(const char *module, const char *name)
{
    (void)module;
    (void)name;
    return PM_EUNSUPPORTED;
}

#endif
