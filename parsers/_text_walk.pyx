# cython: language_level=3
"""Text of lxml elements read from libxml2's nodes: parsers.textutil's text_of and block_texts,
parsers.generic's _direct_text and _link_density, the mechanical part of finding an article.

Each is called for most blocks of a page; from Python each step is a proxy object for a node and
a string for its text or tail. Here the text nodes' bytes are copied into one buffer and decoded
once. Each function must give exactly what its Python twin gives (the twin runs where this
module is not compiled or PAGETRAIL_PURE_PYTHON=1 is set); tests/test_compiled_parsers.py
compares the records of both.
"""

from cpython.mem cimport PyMem_Free, PyMem_Realloc
from libc.string cimport memcpy, strcmp, strlen
from lxml.includes cimport tree
from lxml.includes.etreepublic cimport _Element, import_lxml__etree

from parsers._nodes cimport TagSet, TagSets, next_in, tagset, tagset_has

import_lxml__etree()


cdef struct Buffer:
    char* data
    Py_ssize_t size
    Py_ssize_t capacity


cdef int _grow(Buffer* b, Py_ssize_t more) except -1:
    cdef Py_ssize_t want = b.size + more
    cdef char* data
    if want <= b.capacity:
        return 0
    want = max(want, 2 * b.capacity, 4096)
    data = <char*>PyMem_Realloc(b.data, want)
    if data is NULL:
        raise MemoryError()
    b.data = data
    b.capacity = want
    return 0


cdef inline int _add(Buffer* b, const char* s) except -1:
    cdef Py_ssize_t n
    if s is NULL:
        return 0
    n = strlen(s)
    if n:
        _grow(b, n)
        memcpy(b.data + b.size, s, n)
        b.size += n
    return 0


cdef inline int _add_char(Buffer* b, char ch) except -1:
    _grow(b, 1)
    b.data[b.size] = ch
    b.size += 1
    return 0


cdef inline unicode _text(Buffer* b):
    return b.data[:b.size].decode("utf-8") if b.size else ""


cdef inline bint _is_text(tree.xmlNode* c) noexcept:
    return c.type == tree.XML_TEXT_NODE or c.type == tree.XML_CDATA_SECTION_NODE


cdef inline bint _element_like(tree.xmlNode* c) noexcept:
    # what lxml hands out as children: elements, comments, processing instructions, entities
    return c.type == tree.XML_ELEMENT_NODE or c.type == tree.XML_COMMENT_NODE \
        or c.type == tree.XML_PI_NODE or c.type == tree.XML_ENTITY_REF_NODE


cdef TagSets _sets
_sets.used = 0
cdef list _sets_kept = []


cdef inline bint _tag_in(tree.xmlNode* c, const TagSet* s, frozenset tags):
    # an element's tag in a set of plain tag names (lxml names one in a namespace "{uri}name");
    # s: tagset() of tags
    if c.type != tree.XML_ELEMENT_NODE or c.ns is not NULL:
        return False
    if s.n >= 0:
        return tagset_has(s, <const char*>c.name)
    return (<const char*>c.name).decode("utf-8") in tags


cdef int _all_text(Buffer* b, tree.xmlNode* top) except -1:
    """Every text node under top, in document order: what tostring(method="text") gives."""
    cdef tree.xmlNode* c = top.children
    while c is not NULL:
        if _is_text(c):
            _add(b, <const char*>c.content)
        c = next_in(top, c)
    return 0


cdef inline unicode _own_content(_Element el):
    # a comment's or processing instruction's text: what lxml gives as its .text and its
    # serialized text (the parsers' trees hold none, the HTML parser drops them; other trees may)
    return el.text or ""


def text_of(_Element el):
    """textutil.text_of(el): all text inside the element, without its tail."""
    cdef Buffer b = Buffer(NULL, 0, 0)
    if el._c_node.type != tree.XML_ELEMENT_NODE:
        return _own_content(el)
    try:
        _all_text(&b, el._c_node)
        return _text(&b)
    finally:
        PyMem_Free(b.data)


def block_texts(_Element el, frozenset skip_tags, frozenset block_tags):
    """textutil.block_texts(el): the element's text as paragraphs, a break at every block element,
    what skip_tags holds (scripts, forms) skipped."""
    cdef tree.xmlNode* top = el._c_node
    cdef tree.xmlNode* c = top.children
    cdef Buffer b = Buffer(NULL, 0, 0)
    cdef const TagSet* skip = tagset(&_sets, skip_tags, _sets_kept)
    cdef const TagSet* blocks = tagset(&_sets, block_tags, _sets_kept)
    if top.type != tree.XML_ELEMENT_NODE:
        return [p for p in (" ".join(x.split()) for x in _own_content(el).split("\n")) if p]
    try:
        # the element's own text (lxml's .text: the text nodes before its first child), unless
        # it is one to skip; its children are read either way
        if not _tag_in(top, skip, skip_tags):
            while c is not NULL and _is_text(c):
                _add(&b, <const char*>c.content)
                c = c.next
        else:
            while c is not NULL and _is_text(c):
                c = c.next
        while c is not NULL:
            if _is_text(c):  # a tail, or text inside an element being read
                _add(&b, <const char*>c.content)
            elif c.type == tree.XML_ELEMENT_NODE and not _tag_in(c, skip, skip_tags):
                if _tag_in(c, blocks, block_tags):
                    _add_char(&b, b"\n")
                if c.children is not NULL:
                    c = c.children
                    continue
                if _tag_in(c, blocks, block_tags):
                    _add_char(&b, b"\n")
            # (a skipped element, comment or the like: nothing of it, its tail follows)
            while c.next is NULL:
                c = c.parent
                if c is top:
                    c = NULL
                    break
                if _tag_in(c, blocks, block_tags):  # leaving a block element
                    _add_char(&b, b"\n")
            if c is NULL:
                break
            c = c.next
        text = _text(&b)
    finally:
        PyMem_Free(b.data)
    return [p for p in (" ".join(x.split()) for x in text.split("\n")) if p]


def direct_text(_Element el, Py_ssize_t at_least, frozenset inline_tags):
    """generic._direct_text(el, at_least): the element's text and its children's tails with its
    inline children's text, parts joined by spaces and whitespace folded; "" when the joined
    text is shorter than at_least."""
    cdef tree.xmlNode* c = el._c_node.children
    cdef Buffer b = Buffer(NULL, 0, 0)
    cdef const TagSet* inlines = tagset(&_sets, inline_tags, _sets_kept)
    if el._c_node.type != tree.XML_ELEMENT_NODE:
        text = _own_content(el)
        return "" if at_least and len(text) < at_least else " ".join(text.split())
    try:
        while c is not NULL and _is_text(c):  # el.text
            _add(&b, <const char*>c.content)
            c = c.next
        while c is not NULL:  # c: an element-like child; then its tail
            if _element_like(c):
                _add_char(&b, b" ")
                if _tag_in(c, inlines, inline_tags):
                    _all_text(&b, c)
                    _add_char(&b, b" ")
            elif _is_text(c):
                _add(&b, <const char*>c.content)
            c = c.next
        text = _text(&b)
    finally:
        PyMem_Free(b.data)
    if at_least and len(text) < at_least:
        return ""
    return " ".join(text.split())


def link_density(_Element el, Py_ssize_t text_len):
    """generic._link_density(el, text_len): the folded text of the links in el (el too, if it
    is one) over text_len."""
    cdef tree.xmlNode* top = el._c_node
    cdef tree.xmlNode* c = top
    cdef Buffer b = Buffer(NULL, 0, 0)
    cdef Py_ssize_t links = 0
    if text_len == 0:
        return 1.0
    try:
        while c is not NULL:
            if c.type == tree.XML_ELEMENT_NODE and c.ns is NULL and strcmp(<const char*>c.name, "a") == 0:
                b.size = 0
                _all_text(&b, c)
                links += len(" ".join(_text(&b).split()))
            c = next_in(top, c)
    finally:
        PyMem_Free(b.data)
    return links / text_len
