# cython: language_level=3
"""Walking libxml2's nodes, shared by the parsers' Cython modules (cimported, inlined: after an
edit here, `make compile` builds them again; the staleness check of parsers/_compiled.py reads
only the .pyx files)."""

from libc.string cimport strcmp
from lxml.includes cimport tree


cdef inline tree.xmlNode* next_in(tree.xmlNode* top, tree.xmlNode* c) noexcept:
    """The node after c in document order within top's subtree (an element's children first),
    or NULL after its last node."""
    if c.children is not NULL and c.type == tree.XML_ELEMENT_NODE:
        return c.children
    return next_after(top, c)


cdef inline tree.xmlNode* next_after(tree.xmlNode* top, tree.xmlNode* c) noexcept:
    """The node after c and all inside it, in document order within top's subtree, or NULL:
    for walks that skip a subtree."""
    while c is not top and c.next is NULL:
        c = c.parent
    if c is top:
        return NULL
    return c.next


# A set of tag (or attribute) names as C strings: "is this node's name in SKIP_TAGS" answered
# from the name's bytes, without making a Python string of the name and hashing it for every
# node. The names are grouped by their first byte.
cdef enum:
    TAGSET_MAX = 64  # more names than this: the caller asks the frozenset (TagSet.n == -1)
    TAGSET_SLOTS = 8


cdef struct TagSet:
    int n
    const char* names[TAGSET_MAX]  # sorted by first byte
    unsigned char start[256]  # per first byte: where its names start in `names`, and how many
    unsigned char count[256]


cdef struct TagSets:
    # a module's TagSets, by the frozenset they were made from (compared by identity: the
    # callers pass module constants); the frozensets and their encoded names are kept alive
    # in the list the module passes along
    int used
    void* keys[TAGSET_SLOTS]
    TagSet sets[TAGSET_SLOTS]


cdef inline TagSet* tagset(TagSets* cache, frozenset tags, list keep) except NULL:
    cdef int i, k
    cdef bytes b
    cdef TagSet* s
    for i in range(cache.used):
        if cache.keys[i] == <void*>tags:
            return &cache.sets[i]
    if cache.used == TAGSET_SLOTS:  # (never, with the parsers' few constant sets)
        cache.used = 0
        del keep[:]
    i = cache.used
    s = &cache.sets[i]
    names = []
    for t in tags:
        if isinstance(t, str):
            names.append(t.encode("utf-8"))
    names.sort()
    keep.append(tags)
    keep.append(names)
    if len(names) > TAGSET_MAX:
        s.n = -1
    else:
        s.n = 0
        for k in range(256):
            s.count[k] = 0
        for b in names:
            if len(b) == 0:  # (no node has an empty name)
                continue
            k = <unsigned char>b[0]
            if s.count[k] == 0:
                s.start[k] = <unsigned char>s.n
            s.count[k] += 1
            s.names[s.n] = <const char*>b
            s.n += 1
    cache.keys[i] = <void*>tags
    cache.used += 1
    return s


cdef inline bint tagset_has(const TagSet* s, const char* name) noexcept:
    """name in the set (s.n >= 0)."""
    cdef int k = <unsigned char>name[0]
    cdef int i
    for i in range(s.start[k], s.start[k] + s.count[k]):
        if strcmp(s.names[i], name) == 0:
            return True
    return False


cdef inline bint is_ascii(const char* data, Py_ssize_t size) noexcept:
    """No byte of data[:size] is at or above 0x80 (UTF-8 bytes that decode to ASCII only)."""
    cdef Py_ssize_t i
    for i in range(size):
        if <unsigned char>data[i] >= 0x80:
            return False
    return True
