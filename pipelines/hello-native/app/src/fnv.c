/* hello_native._fnv: 32-bit FNV-1a over a bytes-like object, in C. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

static PyObject *fnv1a(PyObject *self, PyObject *args)
{
    Py_buffer data;
    if (!PyArg_ParseTuple(args, "y*", &data)) {
        return NULL;
    }
    uint32_t hash = 2166136261u;
    const unsigned char *bytes = data.buf;
    for (Py_ssize_t i = 0; i < data.len; i++) {
        hash ^= bytes[i];
        hash *= 16777619u;
    }
    PyBuffer_Release(&data);
    return PyLong_FromUnsignedLong(hash);
}

static PyMethodDef methods[] = {
    {"fnv1a", fnv1a, METH_VARARGS, "fnv1a(data: bytes) -> int: the 32-bit FNV-1a hash of data."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fnv", "FNV-1a hashing in C.", -1, methods};

PyMODINIT_FUNC PyInit__fnv(void)
{
    return PyModule_Create(&module);
}
