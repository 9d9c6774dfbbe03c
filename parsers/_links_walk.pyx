# cython: language_level=3
"""The links of a page read from libxml2's nodes: the href and rel of every <a> and <area>, for
parsers.api.page_links, without an lxml proxy object per link. It must give what its Python twin
in parsers.api gives (tests/test_compiled_parsers.py compares them)."""

from libc.string cimport strcmp
from lxml.includes cimport tree
from lxml.includes.etreepublic cimport _Element, attributeValue, import_lxml__etree

from parsers._nodes cimport next_in

import_lxml__etree()


def hrefs(_Element root):
    """[(href, rel or None)] of each <a> and <area> under root (root too) that has an href, in
    document order (the HTML parser keeps one value per attribute name)."""
    cdef tree.xmlNode* top = root._c_node
    cdef tree.xmlNode* c = top
    cdef tree.xmlAttr* a
    cdef list out = []
    cdef object href, rel
    while c is not NULL:
        if c.type == tree.XML_ELEMENT_NODE and c.ns is NULL and (
                strcmp(<const char*>c.name, "a") == 0 or strcmp(<const char*>c.name, "area") == 0):
            href = rel = None
            a = c.properties
            while a is not NULL:
                if a.ns is NULL:
                    if strcmp(<const char*>a.name, "href") == 0:
                        href = attributeValue(c, a)
                    elif strcmp(<const char*>a.name, "rel") == 0:
                        rel = attributeValue(c, a)
                a = a.next
            if href is not None:
                out.append((href, rel))
        c = next_in(top, c)
    return out
