# cython: language_level=3
"""The links of a page read from libxml2's nodes, for parsers.api.page_links: each <a> and <area>
href made absolute without an lxml proxy object per link, the common links (absolute, or from the
site's root) read as bytes, the rest handed to the Python rules. It must give what page_links
gives without it (tests/test_compiled_parsers.py compares them)."""

from libc.string cimport strcmp
from lxml.includes cimport tree
from lxml.includes.etreepublic cimport _Element, attributeValue, import_lxml__etree

from parsers._nodes cimport is_ascii, next_in

import_lxml__etree()


cdef inline bint _starts(const char* s, Py_ssize_t n, const char* prefix) noexcept:
    cdef Py_ssize_t i = 0
    while prefix[i] != 0:
        if i >= n or s[i] != prefix[i]:
            return False
        i += 1
    return True


cdef inline Py_ssize_t _find(const char* s, Py_ssize_t start, Py_ssize_t end, char ch) noexcept:
    cdef Py_ssize_t i
    for i in range(start, end):
        if s[i] == ch:
            return i
    return -1


cdef inline bint _has_dot_segment(const char* s, Py_ssize_t n) noexcept:
    # "/." anywhere
    cdef Py_ssize_t i
    for i in range(n - 1):
        if s[i] == b"/" and s[i + 1] == b".":
            return True
    return False


def page_links(_Element root, str origin, absolute_of):
    """api.page_links(root, ...)'s links: each <a> and <area> href made absolute, fragment cut,
    http(s) only, each once, in document order. An href with a non-ASCII or whitespace first
    or last byte, or that is neither absolute, nor rooted ("/path"), nor from the host up
    ("//host/path"), goes to absolute_of(href, rel) (api._absolute: the rules themselves); the
    rest (and a rel="nofollow") are read here by the same rules, as bytes (UTF-8 never hides an
    ASCII byte inside a character)."""
    cdef tree.xmlNode* top = root._c_node
    cdef tree.xmlNode* c = top
    cdef tree.xmlAttr* a
    cdef tree.xmlAttr* href_attr
    cdef tree.xmlAttr* rel_attr
    cdef dict out = {}
    cdef bytes raw
    cdef const char* s
    cdef Py_ssize_t n, end, host_end, i
    cdef bint fast
    cdef object absolute, rel
    while c is not NULL:
        if c.type == tree.XML_ELEMENT_NODE and c.ns is NULL and (
                strcmp(<const char*>c.name, "a") == 0 or strcmp(<const char*>c.name, "area") == 0):
            href_attr = rel_attr = NULL
            a = c.properties
            while a is not NULL:
                if a.ns is NULL:
                    if strcmp(<const char*>a.name, "href") == 0:
                        href_attr = a
                    elif strcmp(<const char*>a.name, "rel") == 0:
                        rel_attr = a
                a = a.next
            if href_attr is not NULL:
                href = attributeValue(c, href_attr)
                rel = attributeValue(c, rel_attr) if rel_attr is not NULL else None
                absolute = None
                fast = False
                if rel and "nofollow" in rel.lower().split():
                    fast = True  # not followed: no link, whatever the href
                elif href:
                    raw = (<str>href).encode("utf-8")
                    s = raw
                    n = len(raw)
                    # strip() would change nothing: printable ASCII at both ends
                    if 0x20 < <unsigned char>s[0] < 0x7F and 0x20 < <unsigned char>s[n - 1] < 0x7F:
                        fast = True
                        end = _find(s, 0, n, b"#")
                        if end < 0:
                            end = n
                        if s[0] == b"#" or _starts(s, n, "javascript:") or _starts(s, n, "mailto:") \
                                or _starts(s, n, "tel:") or _starts(s, n, "data:"):
                            pass  # not a page
                        elif _starts(s, n, "http://") or _starts(s, n, "https://"):
                            i = 7 if s[4] == b":" else 8
                            host_end = _find(s, i, n, b"/")
                            if host_end < 0:
                                host_end = n
                            if _has_dot_segment(s, n) or _find(s, 0, n, b" ") >= 0 \
                                    or _find(s, i, host_end, b"[") >= 0:
                                fast = False
                            else:
                                absolute = s[:end].decode("utf-8")
                        elif n > 1 and s[0] == b"/" and s[1] == b"/" and origin is not None:
                            # "//host/path": the base's scheme, then the link as written (urljoin
                            # resolves no dot segment under a host); not with an empty host, an
                            # empty ";" or "?" it would drop, a tab, CR or LF it would remove,
                            # brackets it checks, or a non-ASCII byte a host could normalize from
                            if n == 2 or s[2] == b"/" or s[2] == b"?" or s[2] == b"#" or s[end - 1] == b"?" \
                                    or _find(s, 0, n, b";") >= 0 or _find(s, 0, n, b"\t") >= 0 \
                                    or _find(s, 0, n, b"\r") >= 0 or _find(s, 0, n, b"\n") >= 0 \
                                    or _find(s, 0, n, b"[") >= 0 or _find(s, 0, n, b"]") >= 0 or not is_ascii(s, n):
                                fast = False
                            else:
                                absolute = origin[:origin.index(":") + 1] + s[:end].decode("utf-8")
                        elif s[0] == b"/" and origin is not None:
                            # a rooted link ("/path", not "//host"): no ";", tab, CR or LF, no
                            # dot segment, no empty query before the fragment
                            if (n > 1 and s[1] == b"/") or _find(s, 0, n, b";") >= 0 \
                                    or _find(s, 0, n, b"\t") >= 0 or _find(s, 0, n, b"\r") >= 0 \
                                    or _find(s, 0, n, b"\n") >= 0 or _has_dot_segment(s, n) \
                                    or s[end - 1] == b"?":
                                fast = False
                            else:
                                absolute = origin + s[:end].decode("utf-8")
                        else:
                            fast = False
                if not fast:
                    absolute = absolute_of(href, rel)
                if absolute is not None:
                    out.setdefault(absolute, None)
        c = next_in(top, c)
    return list(out)
