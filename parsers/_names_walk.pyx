# cython: language_level=3
"""The names walk of parsers.generic._Names, over libxml2's nodes instead of lxml's proxies.

The walk reads the class, id and role of every element of a page (and a few rarer attributes),
about a sixth of a generic parse when done from Python: lxml makes a proxy object for every node
it hands out and a list of (name, value) pairs for every element's attributes. Here the nodes and
their attributes are read in C, and a proxy is made only for an element the walk keeps.

It must give exactly what the Python loop in _Names.__init__ gives (that loop is the reference,
and runs where this module is not compiled or PAGETRAIL_PURE_PYTHON=1 is set);
tests/test_compiled_parsers.py compares the records of both.
"""

from lxml.includes cimport tree
from lxml.includes.etreepublic cimport _Document, _Element, attributeValue, elementFactory, import_lxml__etree
from cpython.unicode cimport Py_UNICODE_ISDECIMAL
from libc.string cimport strcmp

from parsers._nodes cimport TagSet, TagSets, next_after, next_in, tagset, tagset_has

import_lxml__etree()


cdef inline bint _named(tree.xmlAttr* a, const char* name) noexcept:
    # an attribute in no namespace: lxml names one in a namespace "{uri}name", never "class"
    return a.ns is NULL and strcmp(<const char*>a.name, name) == 0


cdef TagSets _sets
_sets.used = 0
cdef list _sets_kept = []


def walk(_Element root, dict known, value_bits, long class_bits, long id_bits, long all_bits,
         frozenset invisible_tags, frozenset rare_attrs, own_hidden, long iframe_bit, long byline_bit):
    """(elements, classes, ids, roles, invisible, rdfa_or_byline, schema_comments,
    article_bodies, flagged), as _Names.__init__ fills them; root's subtree in document order."""
    cdef _Document doc = root._doc
    cdef tree.xmlNode* top = root._c_node
    cdef tree.xmlNode* c = top
    cdef tree.xmlAttr* a
    cdef list elements = [], classes = [], ids = [], roles = []
    cdef list invisible = [], bylines = [], schema_comments = [], article_bodies = [], flagged = []
    cdef object tag, cls, eid, role, itemtype, prop, itemprop, get, name, b, el
    cdef dict rare
    cdef bint framed, unseen, iframe
    cdef long f, class_found
    cdef const TagSet* unseen_tags = tagset(&_sets, invisible_tags, _sets_kept)
    cdef const TagSet* rare_names = tagset(&_sets, rare_attrs, _sets_kept)
    while c is not NULL:
        if c.type == tree.XML_ELEMENT_NODE:
            el = None
            # the tag is read as bytes (no Python string for it: most elements need none)
            if c.ns is NULL and unseen_tags.n >= 0:
                unseen = tagset_has(unseen_tags, <const char*>c.name)
                iframe = strcmp(<const char*>c.name, "iframe") == 0
                framed = iframe or strcmp(<const char*>c.name, "ins") == 0
            else:  # (the HTML parser makes no element in a namespace; lxml would say "{uri}name")
                if c.ns is NULL:
                    tag = (<const char*>c.name).decode("utf-8")
                else:
                    el = elementFactory(doc, c)
                    tag = el.tag
                unseen = tag in invisible_tags
                iframe = tag == "iframe"
                framed = tag == "ins" or iframe
            a = c.properties
            if a is NULL:  # only its tag can make it count
                if unseen:
                    el = el if el is not None else elementFactory(doc, c)
                    invisible.append(el)
                if framed:
                    el = el if el is not None else elementFactory(doc, c)
                    elements.append(el)
                    classes.append("")
                    ids.append("")
                    roles.append("")
                    f = iframe_bit if iframe else 0
                    if f:
                        flagged.append((el, f))
            else:
                cls = eid = None
                rare = None  # {name: value} of the rarer attributes, made where there are any
                while a is not NULL:
                    if _named(a, "class"):
                        cls = attributeValue(c, a)
                    elif _named(a, "id"):
                        eid = attributeValue(c, a)
                    elif a.ns is NULL and (rare_names.n < 0 or tagset_has(rare_names, <const char*>a.name)):
                        name = (<const char*>a.name).decode("utf-8")
                        if name in rare_attrs:
                            if rare is None:
                                rare = {}
                            rare[name] = attributeValue(c, a)
                    a = a.next
                role = None
                class_found = 0  # value_bits(cls), looked up once (byline_bit: "byline" or "author-name" in it)
                if cls:
                    b = known.get(cls)
                    class_found = value_bits(cls) if b is None else b
                if rare is not None:
                    get = rare.get
                    role = get("role")
                    itemtype = get("itemtype")
                    prop = get("property")
                    itemprop = get("itemprop")
                    if itemtype is not None and "schema.org/Comment" in itemtype:
                        el = el if el is not None else elementFactory(doc, c)
                        schema_comments.append(el)
                    if (prop is not None and prop.startswith("dc:")) or get("rel") == "author" \
                            or itemprop == "author" or class_found & byline_bit:
                        el = el if el is not None else elementFactory(doc, c)
                        bylines.append(el)
                    if itemprop == "articleBody":
                        el = el if el is not None else elementFactory(doc, c)
                        article_bodies.append(el)
                    if unseen:
                        el = el if el is not None else elementFactory(doc, c)
                        invisible.append(el)
                    elif get("style") is not None or get("hidden") is not None:
                        el = el if el is not None else elementFactory(doc, c)
                        if own_hidden(el):
                            invisible.append(el)
                else:
                    if class_found & byline_bit:
                        el = el if el is not None else elementFactory(doc, c)
                        bylines.append(el)
                    if unseen:
                        el = el if el is not None else elementFactory(doc, c)
                        invisible.append(el)
                if cls is not None or eid is not None or role is not None or framed:
                    el = el if el is not None else elementFactory(doc, c)
                    elements.append(el)
                    classes.append(cls or "")
                    ids.append(eid or "")
                    roles.append(role or "")
                    f = 0
                    if cls:
                        f = class_found & class_bits
                    if eid:
                        b = known.get(eid)
                        f |= (value_bits(eid) if b is None else b) & id_bits
                    if role:
                        b = known.get(role)
                        f |= (value_bits(role) if b is None else b) & all_bits
                    if iframe:
                        f |= iframe_bit
                    if f:
                        flagged.append((el, f))
        c = next_in(top, c)
    return (elements, classes, ids, roles, invisible, bylines, schema_comments, article_bodies, flagged)


def within(_Element top, set stop, set wanted, bint keep_stops):
    """generic._within(top, stop, wanted, keep_stops): top's element descendants in document
    order that are in `wanted` (None: none are), not entering those in `stop` (kept when
    keep_stops). The sets hold live proxies, so a node without one is in neither: its proxy
    is never made."""
    cdef _Document doc = top._doc
    cdef tree.xmlNode* root = top._c_node
    cdef tree.xmlNode* c = root.children
    cdef list out = []
    cdef bint descend
    cdef object el
    while c is not NULL:
        descend = False
        if c.type == tree.XML_ELEMENT_NODE:
            descend = True
            if c._private is not NULL:
                el = elementFactory(doc, c)
                if el in stop:
                    if keep_stops:
                        out.append(el)
                    descend = False
                elif wanted is not None and el in wanted:
                    out.append(el)
        if descend and c.children is not NULL:
            c = c.children
            continue
        c = next_after(root, c)
    return out


def holds_any(_Element top, set members):
    """generic._holds_any(top, members): an element below top (not top itself) is in members
    (a set of live proxies)."""
    cdef _Document doc = top._doc
    cdef tree.xmlNode* root = top._c_node
    cdef tree.xmlNode* c = root
    if not members:
        return False
    while True:
        c = next_in(root, c)
        if c is NULL:
            return False
        if c.type == tree.XML_ELEMENT_NODE and c._private is not NULL and elementFactory(doc, c) in members:
            return True


def digit_shape(str value):
    """generic._digit_shape(value): each run of two or more decimal digits (what the regex \\d
    reads: Py_UNICODE_ISDECIMAL) written "00" (two) or "000" (more); the value itself when it
    has none, as most class and id values have."""
    cdef Py_ssize_t n = len(value), i = 0, start, last = 0
    cdef list parts = None
    while i < n:
        if not Py_UNICODE_ISDECIMAL(value[i]):
            i += 1
            continue
        start = i
        i += 1
        while i < n and Py_UNICODE_ISDECIMAL(value[i]):
            i += 1
        if i - start >= 2:
            if parts is None:
                parts = []
            parts.append(value[last:start])
            parts.append("00" if i - start == 2 else "000")
            last = i
    if parts is None:
        return value
    parts.append(value[last:])
    return "".join(parts)
