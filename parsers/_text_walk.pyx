# cython: language_level=3
"""Text of lxml elements read from libxml2's nodes: parsers.textutil's text_of and block_texts,
parsers.generic's _direct_text and _link_density, the mechanical part of finding an article.

Each is called for most blocks of a page; from Python each step is a proxy object for a node and
a string for its text or tail. Here the text nodes' bytes are copied into one buffer and decoded
once. Each function must give exactly what its Python twin gives (the twin runs where this
module is not compiled or PAGETRAIL_PURE_PYTHON=1 is set); tests/test_compiled_parsers.py
compares the records of both.
"""

from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from libc.string cimport memcpy, strcmp, strlen
from lxml.includes cimport tree
from lxml.includes.etreepublic cimport (_Document, _Element, elementFactory, import_lxml__etree, previousElement,
                                        setNodeText, setTailText, tailOf, textOf)

from parsers._nodes cimport TagSet, TagSets, is_ascii, next_after, next_in, tagset, tagset_has

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


cdef inline bint _ascii_space(unsigned char ch) noexcept:
    # str.isspace() of an ASCII character: tab, LF, VT, FF, CR, the four separators, space
    return ch == 0x20 or 0x09 <= ch <= 0x0D or 0x1C <= ch <= 0x1F


cdef unicode _fold(const char* data, Py_ssize_t size):
    """" ".join(text.split()) of UTF-8 bytes: folded here when they are ASCII (one pass, no list
    of words), by str.split() otherwise (its whitespace is Unicode's)."""
    if not is_ascii(data, size):
        return " ".join(data[:size].decode("utf-8").split())
    return _fold_ascii(data, size)


cdef unicode _fold_ascii(const char* data, Py_ssize_t size):
    # _fold() of bytes known to be ASCII
    cdef char* out
    cdef Py_ssize_t i, j = 0
    cdef bint gap = False
    cdef unsigned char ch
    out = <char*>PyMem_Malloc(size + 1)
    if out is NULL:
        raise MemoryError()
    try:
        for i in range(size):
            ch = <unsigned char>data[i]
            if _ascii_space(ch):
                gap = j > 0
            else:
                if gap:
                    out[j] = b" "
                    j += 1
                    gap = False
                out[j] = <char>ch
                j += 1
        return out[:j].decode("ascii")
    finally:
        PyMem_Free(out)


cdef unicode _fold_if_long(Buffer* b, Py_ssize_t at_least):
    """_fold() of the buffer, or None when its text is shorter than at_least characters before
    folding (read once: bytes count characters where they are ASCII)."""
    if b.size < at_least:  # (fewer bytes, fewer characters)
        return None
    if is_ascii(b.data, b.size):
        return _fold_ascii(b.data, b.size)
    raw = _text(b)
    if len(raw) < at_least:
        return None
    return " ".join(raw.split())


cdef Py_ssize_t _folded_length(const char* data, Py_ssize_t size) except -1:
    """len(_fold(data, size)), counted without making the string where the bytes are ASCII."""
    cdef Py_ssize_t i, n = 0
    cdef bint gap = False
    if not is_ascii(data, size):
        return len(" ".join(data[:size].decode("utf-8").split()))
    for i in range(size):
        if _ascii_space(<unsigned char>data[i]):
            gap = n > 0
        else:
            if gap:
                n += 1
                gap = False
            n += 1
    return n


cdef list _folded_lines(const char* data, Py_ssize_t size):
    """[p for p in (" ".join(x.split()) for x in text.split("\n")) if p] of UTF-8 bytes."""
    cdef list out = []
    cdef Py_ssize_t start = 0, i
    cdef unicode line
    if not is_ascii(data, size):
        return [p for p in (" ".join(x.split()) for x in data[:size].decode("utf-8").split("\n")) if p]
    for i in range(size + 1):
        if i == size or data[i] == b"\n":
            if i > start:
                line = _fold(data + start, i - start)
                if line:
                    out.append(line)
            start = i + 1
    return out


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


def folded_length(_Element el):
    """textutil.folded_length(el): len(fold_ws(text_of(el))), counted without making the text
    where it is ASCII."""
    cdef Buffer b = Buffer(NULL, 0, 0)
    if el._c_node.type != tree.XML_ELEMENT_NODE:
        return len(" ".join(_own_content(el).split()))
    try:
        _all_text(&b, el._c_node)
        return _folded_length(b.data, b.size)
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
        return _folded_lines(b.data, b.size)
    finally:
        PyMem_Free(b.data)


cdef unicode _direct(tree.xmlNode* node, Py_ssize_t at_least, const TagSet* inlines, frozenset inline_tags):
    # direct_text() of an element node
    cdef tree.xmlNode* c = node.children
    cdef Buffer b = Buffer(NULL, 0, 0)
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
        text = _fold_if_long(&b, at_least)
        return "" if text is None else text
    finally:
        PyMem_Free(b.data)


def direct_text(_Element el, Py_ssize_t at_least, frozenset inline_tags):
    """generic._direct_text(el, at_least): the element's text and its children's tails with its
    inline children's text, parts joined by spaces and whitespace folded; "" when the joined
    text is shorter than at_least."""
    if el._c_node.type != tree.XML_ELEMENT_NODE:
        text = _own_content(el)
        return "" if at_least and len(text) < at_least else " ".join(text.split())
    return _direct(el._c_node, at_least, tagset(&_sets, inline_tags, _sets_kept), inline_tags)


cdef double _density(tree.xmlNode* top, Py_ssize_t text_len) except -1.0:
    # link_density() of any node
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
                links += _folded_length(b.data, b.size)
            c = next_in(top, c)
    finally:
        PyMem_Free(b.data)
    return links / text_len


def link_density(_Element el, Py_ssize_t text_len):
    """generic._link_density(el, text_len): the folded text of the links in el (el too, if it
    is one) over text_len."""
    return _density(el._c_node, text_len)


cdef struct Pending:  # an element whose children are still to be scored, and its weight
    tree.xmlNode* node
    double factor


cdef bint _has_children(tree.xmlNode* node) noexcept:
    # len(el) > 0: any element-like child
    cdef tree.xmlNode* c = node.children
    while c is not NULL:
        if _element_like(c):
            return True
        c = c.next
    return False


cdef bint _holds(tree.xmlNode* node, const TagSet* containers, frozenset container_tags):
    # generic._holds_container(el): a child whose tag makes el a container
    cdef tree.xmlNode* c = node.children
    while c is not NULL:
        if _tag_in(c, containers, container_tags):
            return True
        c = c.next
    return False


cdef inline object _parent_element(_Document doc, tree.xmlNode* node):
    # el.getparent(): the parent if it is element-like, else None
    cdef tree.xmlNode* p = node.parent
    if p is NULL or not _element_like(p):
        return None
    return elementFactory(doc, p)


cdef Pending* _push(Pending* stack, Py_ssize_t* depth, Py_ssize_t* capacity, tree.xmlNode* node,
                   double factor) except NULL:
    # stack[depth] = (node, factor), depth + 1, the stack grown first if full (the stack returned)
    cdef Pending* grown
    if depth[0] == capacity[0]:
        grown = <Pending*>PyMem_Realloc(stack, 2 * capacity[0] * sizeof(Pending))
        if grown is NULL:
            raise MemoryError()
        stack = grown
        capacity[0] *= 2
    stack[depth[0]].node = node
    stack[depth[0]].factor = factor
    depth[0] += 1
    return stack


def score_walk(_Element root, dict known, context_factor, block_score, frozenset factor_tags,
               frozenset leaf_blocks, frozenset maybe_leaf, frozenset container_children,
               frozenset inline_tags):
    """generic._score_walk(root, known): the paragraph scores of root's containers, before the
    names' weights. The same dict, filled in the same order with the same arithmetic; an lxml
    proxy is made only for an element that gets a score or whose names weigh (`known`)."""
    cdef _Document doc = root._doc
    cdef const TagSet* factors = tagset(&_sets, factor_tags, _sets_kept)
    cdef const TagSet* leaves = tagset(&_sets, leaf_blocks, _sets_kept)
    cdef const TagSet* maybe = tagset(&_sets, maybe_leaf, _sets_kept)
    cdef const TagSet* containers = tagset(&_sets, container_children, _sets_kept)
    cdef const TagSet* inlines = tagset(&_sets, inline_tags, _sets_kept)
    cdef dict scores = {}
    cdef Pending* stack = NULL
    cdef Py_ssize_t depth = 0, capacity = 0
    cdef tree.xmlNode* node
    cdef tree.xmlNode* c
    cdef double factor, f, score, density
    cdef bint leaf, kids
    cdef object proxy, parent, grand
    cdef unicode own, text
    cdef Buffer b = Buffer(NULL, 0, 0)
    try:
        stack = <Pending*>PyMem_Realloc(NULL, 64 * sizeof(Pending))
        if stack is NULL:
            raise MemoryError()
        capacity = 64
        stack[0].node = root._c_node
        stack[0].factor = 1.0
        depth = 1
        while depth:
            depth -= 1
            node = stack[depth].node
            factor = stack[depth].factor
            c = node.children
            while c is not NULL:
                if c.type != tree.XML_ELEMENT_NODE:  # text, comments and the like: nothing to score
                    c = c.next
                    continue
                proxy = None
                if known is not None and not _tag_in(c, factors, factor_tags) and (
                        c._private is NULL or known.get(elementFactory(doc, c)) is None):
                    # (known's keys are live proxies: a node without one is not among them)
                    f = factor  # no names, no telling tag: _context_factor() is 1.0
                else:
                    proxy = elementFactory(doc, c)
                    f = factor * <double>context_factor(proxy, known)
                kids = _has_children(c)
                own = ""
                if _tag_in(c, leaves, leaf_blocks):
                    leaf = True
                    if kids and c.ns is NULL and (strcmp(<const char*>c.name, "li") == 0
                                                  or strcmp(<const char*>c.name, "td") == 0) \
                            and _holds(c, containers, container_children):
                        stack = _push(stack, &depth, &capacity, c, f)
                elif _tag_in(c, maybe, maybe_leaf):
                    leaf = not kids or not _holds(c, containers, container_children)
                    if not leaf:
                        own = _direct(c, 25, inlines, inline_tags)
                else:
                    leaf = False
                    # (without children, _direct() is the .text the twin reads: the same test)
                    own = _direct(c, 25, inlines, inline_tags)
                if not leaf:
                    if kids:
                        stack = _push(stack, &depth, &capacity, c, f)
                    if len(own) >= 25:
                        score = <double>block_score(own) * f
                        if proxy is None:
                            proxy = elementFactory(doc, c)
                        scores[proxy] = <double>scores.get(proxy, 0.0) + score
                        parent = elementFactory(doc, node)
                        scores[parent] = <double>scores.get(parent, 0.0) + score / 2
                    c = c.next
                    continue
                b.size = 0
                _all_text(&b, c)
                text = _fold_if_long(&b, 25)
                if text is None or len(text) < 25:
                    c = c.next
                    continue
                score = <double>block_score(text)
                density = _density(c, len(text)) if kids else 0.0
                score *= (1 - (1.0 if 1.0 < density else density)) * f
                parent = elementFactory(doc, node)
                scores[parent] = <double>scores.get(parent, 0.0) + score
                grand = _parent_element(doc, node)
                if grand is not None:
                    scores[grand] = <double>scores.get(grand, 0.0) + score / 2
                c = c.next
    finally:
        PyMem_Free(stack)
        PyMem_Free(b.data)
    return scores


cdef inline Py_ssize_t _chars(const char* s) noexcept:
    # characters in a UTF-8 string: its bytes that do not continue a character
    cdef Py_ssize_t n = 0
    cdef const unsigned char* p = <const unsigned char*>s
    if p is NULL:
        return 0
    while p[0] != 0:
        if (p[0] & 0xC0) != 0x80:
            n += 1
        p += 1
    return n


cdef inline Py_ssize_t _text_run(tree.xmlNode* c) noexcept:
    # characters in the text nodes from c on, up to the first other node (lxml's .text of a
    # parent whose first child is c, the .tail of the node before c)
    cdef Py_ssize_t n = 0
    while c is not NULL and _is_text(c):
        n += _chars(<const char*>c.content)
        c = c.next
    return n


cdef struct Reading:  # an element whose children are being read, and its text so far
    tree.xmlNode* node
    Py_ssize_t mass


def text_mass(_Element root, frozenset skip_tags):
    """generic._text_mass(root): the characters of text inside each element-like node of root's
    subtree, root included (an element's own text unless skip_tags holds its tag, each child's
    text and tail), read from the text nodes without making strings of them; the same figures
    under the same proxies, in another order."""
    cdef _Document doc = root._doc
    cdef tree.xmlNode* top = root._c_node
    cdef tree.xmlNode* c
    cdef tree.xmlNode* node
    cdef const TagSet* skip = tagset(&_sets, skip_tags, _sets_kept)
    cdef dict mass = {}
    cdef Reading* open_ = NULL  # the elements being read, outermost first
    cdef Reading* grown
    cdef Py_ssize_t depth = 0, capacity = 64
    cdef Py_ssize_t m
    open_ = <Reading*>PyMem_Malloc(capacity * sizeof(Reading))
    if open_ is NULL:
        raise MemoryError()
    try:
        open_[0].node = top
        if top.type == tree.XML_ELEMENT_NODE:
            open_[0].mass = 0 if _tag_in(top, skip, skip_tags) else _text_run(top.children)
            c = top.children
        else:  # (a comment or the like: no text of its own, no children)
            open_[0].mass = 0
            c = NULL
        while True:
            while c is not NULL and not _element_like(c):  # (text: read as .text or a tail)
                c = c.next
            if c is not NULL:
                if c.type == tree.XML_ELEMENT_NODE:  # its children first
                    depth += 1
                    if depth == capacity:
                        grown = <Reading*>PyMem_Realloc(open_, 2 * capacity * sizeof(Reading))
                        if grown is NULL:
                            raise MemoryError()
                        open_ = grown
                        capacity *= 2
                    open_[depth].node = c
                    open_[depth].mass = 0 if _tag_in(c, skip, skip_tags) else _text_run(c.children)
                    c = c.children
                    continue
                # a comment, processing instruction or entity: nothing inside, its tail counts
                mass[elementFactory(doc, c)] = 0
                open_[depth].mass += _text_run(c.next)
                c = c.next
                continue
            node = open_[depth].node  # all its children read
            m = open_[depth].mass
            mass[root if depth == 0 else elementFactory(doc, node)] = m
            if depth == 0:
                return mass
            depth -= 1
            open_[depth].mass += m + _text_run(node.next)
            c = node.next
    finally:
        PyMem_Free(open_)


def drop_tree(_Element el):
    """textutil.drop_tree(el), lxml.html's el.drop_tree(): the element and all inside it
    removed, its tail kept (added to the previous sibling's tail, or the parent's text). The
    parent and previous sibling are read as nodes, without proxies."""
    cdef tree.xmlNode* c = el._c_node
    cdef tree.xmlNode* parent = c.parent
    cdef tree.xmlNode* previous
    if parent is NULL or not _element_like(parent):
        raise AssertionError("drop_tree() of an element without a parent")
    tail = tailOf(c)
    if tail:
        previous = previousElement(c)
        if previous is NULL:
            setNodeText(parent, (textOf(parent) or "") + tail)
        else:
            setTailText(previous, (tailOf(previous) or "") + tail)
    elementFactory(el._doc, parent).remove(el)


cdef Py_ssize_t _non_space(const char* s) except -1:
    # sum(map(len, text.split())): the characters that are not whitespace
    cdef Py_ssize_t n = 0, i = 0
    if s is NULL:
        return 0
    while s[i] != 0:
        if <unsigned char>s[i] >= 0x80:
            return sum(map(len, s.decode("utf-8").split()))
        if not _ascii_space(<unsigned char>s[i]):
            n += 1
        i += 1
    return n


def text_exceeds(_Element el, Py_ssize_t limit, frozenset skip_tags):
    """generic._text_exceeds(el, limit) of an element: more than `limit` characters that are
    not whitespace in the text inline_text(el) reads (what skip_tags holds skipped, its tail
    kept; the element's own text skipped too if it is one of them); counting stops there."""
    cdef tree.xmlNode* top = el._c_node
    cdef tree.xmlNode* c = top.children
    cdef const TagSet* skip = tagset(&_sets, skip_tags, _sets_kept)
    cdef bint own = not _tag_in(top, skip, skip_tags)
    cdef bint leading = True  # before top's first element-like child: its .text
    cdef Py_ssize_t count = 0
    while c is not NULL:
        if _is_text(c):
            if c.parent is not top or not leading or own:
                count += _non_space(<const char*>c.content)
                if count > limit and not leading:
                    return True
        elif _element_like(c):
            if c.parent is top and leading:
                leading = False
                if count > limit:  # (the twin counts from its first child on: none, no answer)
                    return True
            if c.type == tree.XML_ELEMENT_NODE and c.children is not NULL and not _tag_in(c, skip, skip_tags):
                c = c.children
                continue
        c = next_after(top, c)
    return False
