# cython: language_level=3
"""Walking libxml2's nodes, shared by the parsers' Cython modules (cimported, inlined: after an
edit here, `make compile` builds them again; the staleness check of parsers/_compiled.py reads
only the .pyx files)."""

from lxml.includes cimport tree


cdef inline tree.xmlNode* next_in(tree.xmlNode* top, tree.xmlNode* c) noexcept:
    """The node after c in document order within top's subtree (an element's children first),
    or NULL after its last node."""
    if c.children is not NULL and c.type == tree.XML_ELEMENT_NODE:
        return c.children
    while c is not top and c.next is NULL:
        c = c.parent
    if c is top:
        return NULL
    return c.next
