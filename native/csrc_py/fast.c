/* native._satnode_fast: the CPython-API call path of satnode's CRC-16 kernel, for the TM/TC
 * codec's hot path (flight/tmtc/_crc.py, _pus.py).
 *
 * Why a second extension: the cffi module native._satnode_c exposes every kernel, but cffi's
 * argument conversion costs ~150 ns per call, a quarter of encoding a 54-octet TM packet. This
 * module is linked from the SAME kernel sources (native/csrc/crc.c, cpu.c, version.c; see
 * setup.py) and adds only the Python glue: METH_FASTCALL functions that take the buffer
 * protocol, and encoders that build a whole PUS-C packet (headers, time field, data, PEC) in
 * one allocation. No CRC logic lives here.
 *
 * Contract of the encoders (pack_tm, pack_tc): they return the packet's octets, or None when
 * anything is unusual (a field out of range or not an int, a time/data argument that is not a
 * contiguous byte buffer, a packet longer than max_len or than the 16-bit length field allows).
 * The Python caller then runs its reference encoder, which raises the typed WireError (or
 * encodes an exotic but valid argument): the error semantics live in one place, in Python.
 * The layout is documented in flight/tmtc/_pus.py. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "satnode.h"

/* Version of this module's Python interface (checked by native/backend.py). */
#define SATNODE_FAST_API 1

enum {
    PRIMARY_LEN = 6,
    TM_HEAD_LEN = 13, /* primary header + TM secondary header before the time field */
    TC_HEAD_LEN = 11, /* primary header + TC secondary header */
    PEC_LEN = 2,
    /* The packet data length field holds total - 7 in 16 bits. */
    MAX_TOTAL = PRIMARY_LEN + 0x10000,
    CRC16_INIT = 0xFFFF,
    PUS_C_NIBBLE = 0x20,
    UNSEGMENTED = 0xC0, /* sequence flags 0b11, in the high octet */
};

/* A borrowed view of a bytes-like argument: exact bytes without the buffer protocol (the
 * common case), anything else through it (C-contiguous octets only). */
typedef struct {
    const uint8_t *p;
    Py_ssize_t n;
    Py_buffer view;
    int held;
} span;

/* 1 on success; 0 (no exception set) if `o` is not a contiguous byte buffer. */
static int span_get(PyObject *o, span *s) {
    s->held = 0;
    if (PyBytes_CheckExact(o)) {
        s->p = (const uint8_t *)PyBytes_AS_STRING(o);
        s->n = PyBytes_GET_SIZE(o);
        return 1;
    }
    if (PyObject_GetBuffer(o, &s->view, PyBUF_SIMPLE) < 0) {
        PyErr_Clear();
        return 0;
    }
    if (s->view.itemsize != 1) { /* e.g. an int32 array: len() would not count octets */
        PyBuffer_Release(&s->view);
        return 0;
    }
    s->held = 1;
    s->p = (const uint8_t *)s->view.buf;
    s->n = s->view.len;
    return 1;
}

static void span_release(span *s) {
    if (s->held) PyBuffer_Release(&s->view);
    s->held = 0;
}

/* 1 and *out if `o` is an int in [0, max]; 0 (no exception set) otherwise. */
static int uint_get(PyObject *o, long max, long *out) {
    if (!PyLong_Check(o)) return 0;
    int overflow = 0;
    long v = PyLong_AsLongAndOverflow(o, &overflow);
    if (v == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    if (overflow || v < 0 || v > max) return 0;
    *out = v;
    return 1;
}

/* max_len: any int (a huge one is as good as MAX_TOTAL, a negative one refuses everything). */
static int limit_get(PyObject *o, Py_ssize_t *out) {
    if (!PyLong_Check(o)) return 0;
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (v == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    if (overflow > 0 || v > MAX_TOTAL) v = MAX_TOTAL;
    if (overflow < 0) v = -1;
    *out = (Py_ssize_t)v;
    return 1;
}

static void put16(uint8_t *p, long v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* Appends the PEC over everything before it. 0, or -1 with an exception. */
static int seal(uint8_t *p, Py_ssize_t total) {
    int32_t crc = satnode_crc16(p, (size_t)(total - PEC_LEN), CRC16_INIT, 0);
    if (crc < 0) { /* impl 0 (the best variant) always exists: a broken build */
        PyErr_SetString(PyExc_SystemError, "satnode_crc16 refused its default variant");
        return -1;
    }
    put16(p + total - PEC_LEN, crc);
    return 0;
}

static int want_args(const char *name, Py_ssize_t nargs, Py_ssize_t want) {
    if (nargs == want) return 1;
    PyErr_Format(PyExc_TypeError, "%s() takes exactly %zd arguments (%zd given)", name, want,
                 nargs);
    return 0;
}

PyDoc_STRVAR(pack_tm_doc,
             "pack_tm(apid, seq_count, service, subtype, msg_counter, dest_id, time, data, "
             "time_ref, max_len, /) -> bytes | None\n\n"
             "A PUS-C TM packet with its PEC, or None if any argument is out of range, not an "
             "int or not a contiguous byte buffer, or the packet would exceed max_len octets.");

static PyObject *fast_pack_tm(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (!want_args("pack_tm", nargs, 10)) return NULL;
    long apid, seq, service, subtype, counter, dest, time_ref;
    Py_ssize_t max_len;
    if (!uint_get(args[0], 0x7FF, &apid) || !uint_get(args[1], 0x3FFF, &seq) ||
        !uint_get(args[2], 0xFF, &service) || !uint_get(args[3], 0xFF, &subtype) ||
        !uint_get(args[4], 0xFFFF, &counter) || !uint_get(args[5], 0xFFFF, &dest) ||
        !uint_get(args[8], 0xF, &time_ref) || !limit_get(args[9], &max_len))
        Py_RETURN_NONE;
    span time, data;
    if (!span_get(args[6], &time)) Py_RETURN_NONE;
    if (!span_get(args[7], &data)) {
        span_release(&time);
        Py_RETURN_NONE;
    }
    PyObject *out = NULL;
    Py_ssize_t total = TM_HEAD_LEN + time.n + data.n + PEC_LEN;
    if (total > max_len) {
        out = Py_NewRef(Py_None);
        goto done;
    }
    out = PyBytes_FromStringAndSize(NULL, total);
    if (out == NULL) goto done;
    uint8_t *p = (uint8_t *)PyBytes_AS_STRING(out);
    put16(p, 0x0800 | apid); /* version 0, TM, secondary header flag, APID */
    put16(p + 2, (UNSEGMENTED << 8) | seq);
    put16(p + 4, (long)(total - 7));
    p[6] = (uint8_t)(PUS_C_NIBBLE | time_ref);
    p[7] = (uint8_t)service;
    p[8] = (uint8_t)subtype;
    put16(p + 9, counter);
    put16(p + 11, dest);
    if (time.n) memcpy(p + TM_HEAD_LEN, time.p, (size_t)time.n);
    if (data.n) memcpy(p + TM_HEAD_LEN + time.n, data.p, (size_t)data.n);
    if (seal(p, total) < 0) Py_CLEAR(out);
done:
    span_release(&data);
    span_release(&time);
    return out;
}

PyDoc_STRVAR(pack_tc_doc,
             "pack_tc(apid, seq_count, service, subtype, ack_flags, source_id, data, max_len, /)"
             " -> bytes | None\n\n"
             "A PUS-C TC packet with its PEC, or None (see pack_tm).");

static PyObject *fast_pack_tc(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (!want_args("pack_tc", nargs, 8)) return NULL;
    long apid, seq, service, subtype, ack, source;
    Py_ssize_t max_len;
    if (!uint_get(args[0], 0x7FF, &apid) || !uint_get(args[1], 0x3FFF, &seq) ||
        !uint_get(args[2], 0xFF, &service) || !uint_get(args[3], 0xFF, &subtype) ||
        !uint_get(args[4], 0xF, &ack) || !uint_get(args[5], 0xFFFF, &source) ||
        !limit_get(args[7], &max_len))
        Py_RETURN_NONE;
    span data;
    if (!span_get(args[6], &data)) Py_RETURN_NONE;
    PyObject *out = NULL;
    Py_ssize_t total = TC_HEAD_LEN + data.n + PEC_LEN;
    if (total > max_len) {
        out = Py_NewRef(Py_None);
        goto done;
    }
    out = PyBytes_FromStringAndSize(NULL, total);
    if (out == NULL) goto done;
    uint8_t *p = (uint8_t *)PyBytes_AS_STRING(out);
    put16(p, 0x1800 | apid); /* version 0, TC, secondary header flag, APID */
    put16(p + 2, (UNSEGMENTED << 8) | seq);
    put16(p + 4, (long)(total - 7));
    p[6] = (uint8_t)(PUS_C_NIBBLE | ack);
    p[7] = (uint8_t)service;
    p[8] = (uint8_t)subtype;
    put16(p + 9, source);
    if (data.n) memcpy(p + TC_HEAD_LEN, data.p, (size_t)data.n);
    if (seal(p, total) < 0) Py_CLEAR(out);
done:
    span_release(&data);
    return out;
}

PyDoc_STRVAR(pec_doc,
             "pec(data, n, init, impl, /) -> int\n\n"
             "satnode_crc16 over the first n octets of data (any C-contiguous byte buffer), "
             "continuing from init (0xFFFF for a fresh CRC), CPU variant impl (0 = best). The "
             "calling convention of the cffi function native._satnode_c.lib.satnode_crc16: "
             "returns the CRC, or -1 for a variant this CPU does not support.");

static PyObject *fast_pec(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (!want_args("pec", nargs, 4)) return NULL;
    Py_ssize_t n = PyLong_AsSsize_t(args[1]);
    if (n == -1 && PyErr_Occurred()) return NULL;
    long init = PyLong_AsLong(args[2]);
    if (init == -1 && PyErr_Occurred()) return NULL;
    long impl = PyLong_AsLong(args[3]);
    if (impl == -1 && PyErr_Occurred()) return NULL;
    if (init < 0 || init > 0xFFFF) {
        PyErr_Format(PyExc_ValueError, "init must be in [0, 0xFFFF], got %ld", init);
        return NULL;
    }
    if (impl < INT32_MIN || impl > INT32_MAX) impl = -1; /* no such variant */
    span s;
    if (!span_get(args[0], &s)) {
        PyErr_Format(PyExc_TypeError, "pec() needs a contiguous byte buffer, got %.100s",
                     Py_TYPE(args[0])->tp_name);
        return NULL;
    }
    PyObject *out = NULL;
    if (n < 0 || n > s.n) {
        PyErr_Format(PyExc_ValueError, "n=%zd octets is outside the %zd-octet buffer", n, s.n);
    } else {
        out = PyLong_FromLong(satnode_crc16(s.p, (size_t)n, (uint16_t)init, (int)impl));
    }
    span_release(&s);
    return out;
}

PyDoc_STRVAR(crc16_doc,
             "crc16(data, init=0xFFFF, /) -> int\n\n"
             "CRC-16-CCITT-FALSE of data (any C-contiguous byte buffer), continuing from init, "
             "with the best CPU variant.");

static PyObject *fast_crc16(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs < 1 || nargs > 2) {
        PyErr_Format(PyExc_TypeError, "crc16() takes 1 or 2 arguments (%zd given)", nargs);
        return NULL;
    }
    long init = CRC16_INIT;
    if (nargs == 2) {
        init = PyLong_AsLong(args[1]);
        if (init == -1 && PyErr_Occurred()) return NULL;
        if (init < 0 || init > 0xFFFF) {
            PyErr_Format(PyExc_ValueError, "init must be in [0, 0xFFFF], got %ld", init);
            return NULL;
        }
    }
    span s;
    if (!span_get(args[0], &s)) {
        PyErr_Format(PyExc_TypeError, "crc16() needs a contiguous byte buffer, got %.100s",
                     Py_TYPE(args[0])->tp_name);
        return NULL;
    }
    int32_t crc = satnode_crc16(s.p, (size_t)s.n, (uint16_t)init, 0);
    span_release(&s);
    return PyLong_FromLong(crc);
}

static PyMethodDef fast_methods[] = {
    {"pack_tm", (PyCFunction)(void (*)(void))fast_pack_tm, METH_FASTCALL, pack_tm_doc},
    {"pack_tc", (PyCFunction)(void (*)(void))fast_pack_tc, METH_FASTCALL, pack_tc_doc},
    {"pec", (PyCFunction)(void (*)(void))fast_pec, METH_FASTCALL, pec_doc},
    {"crc16", (PyCFunction)(void (*)(void))fast_crc16, METH_FASTCALL, crc16_doc},
    {NULL, NULL, 0, NULL},
};

static int fast_exec(PyObject *m) {
    if (PyModule_AddIntConstant(m, "API_VERSION", SATNODE_FAST_API) < 0) return -1;
    /* The kernels' ABI version, from the same csrc/version.c as the cffi module's. */
    if (PyModule_AddIntConstant(m, "ABI_VERSION", satnode_abi_version()) < 0) return -1;
    /* The CRC-16 variant impl 0 runs (ids of satnode.h), for the backend report. */
    if (PyModule_AddIntConstant(m, "CRC16_IMPL", satnode_crc16_impl(0)) < 0) return -1;
    return 0;
}

static PyModuleDef_Slot fast_slots[] = {
    {Py_mod_exec, (void *)fast_exec},
    {0, NULL},
};

static struct PyModuleDef fast_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "native._satnode_fast",
    .m_doc = "CPython-API call path of satnode's CRC-16 kernel and the PUS packet encoders.",
    .m_size = 0,
    .m_methods = fast_methods,
    .m_slots = fast_slots,
};

PyMODINIT_FUNC PyInit__satnode_fast(void) { return PyModuleDef_Init(&fast_module); }
