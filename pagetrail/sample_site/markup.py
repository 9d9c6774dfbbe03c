"""Article pages in the reference site's markup, with every trap it has.

Traps carried on purpose: the title's h1.mainTitle reused by hidden dialogs; the article
repeated as plain text inside a script; ad slots between body blocks and between posts; long
posts split into a visible and a hidden part; each post's id only in a script before it; a
"You might also Like" recommendation slot beside the real related links; a thread that may
show only some posts; widgets that rotate on every fetch; form chrome everywhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html import escape

from pagetrail.sample_site.content import ARTICLES, FACTS, HISTORY, Article, Post


@dataclass
class PageState:
    fetch: int = 0  # rotates widgets and ad ids, as every fetch of the real site did
    added: tuple[Post, ...] = ()  # new posts, newest first
    removed: frozenset[str] = frozenset()  # post ids a moderator removed
    edits: dict[tuple[int, int], str] = field(default_factory=dict)  # (block, paragraph) -> new text
    modified: str | None = None  # a new "Last Modified Date"
    page_size: int | None = None  # posts per thread page: only the newest this many show


def posts_shown(article: Article, state: PageState) -> list[Post]:
    posts = [p for p in (*state.added, *article.posts) if p.id not in state.removed]
    return posts[: state.page_size] if state.page_size else posts


def _blocks(article: Article, state: PageState) -> list[list[str]]:
    return [
        [state.edits.get((b, i), text) for i, text in enumerate(block)]
        for b, block in enumerate(article.blocks)
    ]


def _post(p: Post, ad_id: str) -> str:
    visible = "\n<p>\n".join(f"<p>{escape(t)}" for t in p.paragraphs)
    hidden = ""
    if p.hidden:
        hidden = (
            '\n                            <div class="hiddenContent">\n'
            + "\n".join(f"<p>{escape(t)}" for t in p.hidden)
            + '\n                            </div>\n'
            '                            <div class="control"><div><a href="#">view entire post</a></div></div>\n'
            '                            <div class="bkg"></div>'
        )
    return f"""
            <script>
                adp_post_blocks.push("{p.id}");
            </script>

            <tr>
                <td class="col1">
                    <b>{escape(p.author)}</b><br/>
                    <span>Post {p.number}</span>
                </td>
                <td class="col2">
                    <div class="discuss">
                        <div class="visibleContent">
                            <div>
                                {visible}
                            </div>
                        </div>{hidden}
                    </div>
                </td>
            </tr>

            <tr>
                <td class="indent" colspan="2"></td>
            </tr>

            <tbody>
                <tr class="adBlock">
                    <td class="col1"></td>
                    <td class="col2"><div class="gLinkUnit gLinkUnitInline RelatedTopicsContainer gInlineBlock" id="{ad_id}"></div></td>
                </tr>
                <tr><td class="indent" colspan="2"></td></tr>
            </tbody>"""


def render_article(article: Article, state: PageState | None = None, base: str = "") -> str:
    state = state or PageState()
    n = state.fetch
    fact = FACTS[n % len(FACTS)]
    day, year, event = HISTORY[n % len(HISTORY)]
    blocks = _blocks(article, state)
    body_parts = []
    for i, block in enumerate(blocks):
        paras = "\n".join(f"<p>{escape(t)}</p>" for t in block)
        body_parts.append(f'        <div class="suggestEdit">\n{paras}        </div>')
        if i < len(blocks) - 1:
            body_parts.append(
                f'          <div class="googleAdv2 postAdv" id="ad_block_{i + 1}">\n'
                f'            <div class="label">Ad</div>\n          </div>'
            )
    shown = posts_shown(article, state)
    posts_html = "".join(_post(p, f"gLinkUnit_{n}_{k}") for k, p in enumerate(shown))
    article_text = "\r\n \r\n".join(t for block in blocks for t in block)
    related = "\n".join(
        f'          <div class="" property="dc:relation">\n'
        f'            <a href="{escape(base + url)}" >{escape(title)}</a>\n          </div>\n'
        f'          <div class="lSep"></div>'
        for title, url in article.related
    )
    url = f"{base}{article.path}"
    modified = state.modified or article.modified
    description = escape(blocks[0][0][:130] + "...")
    return f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
  <head>
    <meta http-equiv="Content-Type" content="text/html; charset=utf-8" />
    <link rel="canonical" href="{escape(url)}" />
    <title>{escape(article.title)}</title>
    <meta property="og:type" content="article" />
    <meta property="og:site_name" content="wiseGEEK" />
    <meta http-equiv="content-language" content="en-US">
    <meta name="description" property="og:description" content="{description}" />
    <script type="text/javascript">var _qevents = _qevents || []; var adSeed = {n};</script>
  </head>
  <body xmlns:dc="http://purl.org/dc/elements/1.1/" onload="set10SecTimer('/Ping10Sec.php', 0);">
    <div class="wrapAll">
      <div class="wrapHeader">
        <a href="{base}/" class="logo">
          <span class="part1">wise</span><span class="part2">GEEK</span><br />
          <span class="caption">clear answers for common questions</span>
        </a>
        <div class="headerLinksWrap">
          <a href="{base}/how-can-i-contact-wisegeek.htm">Feedback</a>
          <a href="{base}/who-is-wisegeek.htm">About wiseGEEK</a>
        </div>
      </div>
      <span style="float:right;">
        <span>Category:&nbsp;</span>
        <dl class="dropdown">
          <dt><a href="#"><span>{escape(article.category)}</span></a></dt>
          <dd><ul><li><a href="{base}/medicine.htm">Medicine</a></li><li><a href="{base}/health.htm">Health</a></li></ul></dd>
        </dl>
      </span>
      <h1 class="mainTitle">
  {escape(article.title)}</h1>
<div class="wrapBody">
  <div class="greyBg"><div class="googleAdv pad_left" id="gLinkUnit0"></div></div>
  <div class="leftCol">
    <div class="standartBlock" style="background: none; padding: 0;" id="socialWidgetBlock">
      <a href="https://twitter.com/wiseGEEK" class="twitter-follow-button">Follow @wiseGEEK</a>
    </div>
    <div class="standartBlock">
      <div class="title">Article Details</div>
      <ul class="indent">
        <li><span class="indent">Written By: <span property="dc:creator">{escape(article.author)}</span></span></li>
        <li><span class="indent">Edited By: <span property="dc:editor">{escape(article.editor)}</span></span></li>
        <li><span class="indent">Last Modified Date: <span property="dc:date">{escape(modified)}</span></span></li>
        <li><span class="indent"><span property="dc:rights">Copyright Protected: <br></span>
            <span property="dc:publisher">Conjecture Corporation</span></span></li>
        <li>
          <form method="post" id="PageArticleCom-printArticleForm_id">
            <a href="#" id="PageArticleCom-printArticleLink_id">Print this Article</a>
            <input type="hidden" name="action[PageArticleCom:printArticle]" value="true">
          </form>
        </li>
      </ul>
    </div>
    <div class="standartBlock justify">
      <div class="title">Free Widgets for your Site/Blog</div>
      <table cellpadding="0" cellspacing="0" class="WidgetCarcass"><tr><td>
        <div class="WidgetBlock"><div class="WidgetContent">
          <div class="WidgetTitle"><a href="{base}/">Did You Know?</a></div>
          <div class="WidgetText"><span>{escape(fact)}</span>&nbsp;
            <a target="_blank" href="{base}/fact-{n % len(FACTS)}.htm">more...</a></div>
        </div><div class="WidgetFooter"><a href="{base}/#widget">get widget</a></div></div>
      </td></tr></table>
      <br>
      <table cellpadding="0" cellspacing="0" class="WidgetCarcass"><tr><td>
        <div class="WidgetBlock"><div class="WidgetContent">
          <div class="WidgetTitle"><a href="{base}/">This Day in History</a></div>
          <div class="WidgetText">
            <b>{escape(day)}</b> <b>,</b>&nbsp; <b>{escape(year)}</b> <b>:</b>&nbsp;
            <span>{escape(event)}</span>&nbsp;
            <a target="_blank" href="{base}/what-happened-on-{escape(day.lower().replace(' ', '-'))}.htm">more...</a>
          </div>
        </div><div class="WidgetFooter"><a href="{base}/#widget">get widget</a></div></div>
      </td></tr></table>
    </div>
    <div class="standartBlock feedback">
      <div class="title">Subscribe to wiseGEEK</div>
      <p>Learn something new every day <a href="{base}/how-can-i-subscribe-to-wisegeek.htm">More Info...</a> by email</p>
      <form method="post" action="subscribe.htm"><input type="text" name="email" value=" enter email address"></form>
    </div>
  </div>
  <div class="rightCol">
    <div class="leftPad18">
{chr(10).join(body_parts)}
      <div id="gLinkUnit2" class="googleAdv"></div>
    </div>
    <div class="standartBlock" id="content_rec">
      <h2> You might also Like </h2>
      <span id="contentAd" params='({{"id": "rec-{n}"}})' scriptName="widget.js"></span>
    </div>
    <div class="standartBlock" id="related_articles">
      <h2>Related wiseGEEK Articles</h2>
      <div class="links">
{related}
      </div>
      <div class="googleAdv2 postAdv" id="ad_block_9"><div class="label">Ad</div></div>
    </div>
    <div id="comments"></div>
    <div class="standartBlock discussBlock" id="discussions">
      <h2>Discuss this Article</h2>
      <script>
        var adp_post_blocks = [];
        var adp_posts_container_node_id = "PageArticleCom_discussionPosts-postsContainer_id";
      </script>
      <table class="discussTable discussHidden" cellpadding="0" cellspacing="0" id="PageArticleCom_discussionPosts-postsContainer_id">{posts_html}
      </table>
      <div class="joinForm">
        <h2>Post your comments</h2>
        <div class="discussionsPostUI">
          <a class="discussionTitleLink"><h2 class="discussionsPostHeader">Post Anonymously</h2></a>
          <form method="post" id="PageArticleCom_discussionPostBox-postForm_id">
            <textarea name="PageArticleCom_discussionPostBox-content"></textarea>
            <div id="captchaForm" style="display: none;">
              <div id="captchaBlock"><h1 class="mainTitle">Please enter the code:</h1></div>
              <div id="serverAnswerBlock"><h1 class="mainTitle" style="text-align: left;"></h1></div>
            </div>
          </form>
        </div>
        <div class="discussionsLoginUI">
          <h2 class="discussionsPostHeader">Login</h2>
          <form method="POST" action=""><table class="discussionsFormTable">
            <tr><td class="discussionsLabel">username</td><td><input type="text" name="login"/></td></tr>
            <tr><td colspan="2" class="center"><a href="{base}/password-recovery.htm">forgot password?</a></td></tr>
          </table></form>
        </div>
      </div>
    </div>
  </div>
</div>
<div class="suggestForm" id="suggestEditForm" style="display: none">
  <div id="suggestDialogForm">
    <h1 class="mainTitle"> Make changes/additions/deletions to the article below, and one of our editors will publish your suggestions if warranted.</h1>
  </div>
  <div id="thankYouForm" style="display: none"><h1 class="mainTitle"> Thank You!</h1></div>
</div>
<div class="rightLinks">
  <a href="{base}/faq.htm">FAQ</a><br />
  <span property="dc:rights">Copyright &copy; 2003 - 2019</span>
  <span property="dc:publisher">Conjecture Corporation</span>
</div>
</div>
<script language="javascript" type="text/javascript">
(function(){{ var c = ControlsManager.getInstance(); c.addControl('e3c8', new PageArticle({json.dumps({"url": article.path, "articleContent": article_text})})); }})();
</script>
  </body>
</html>
"""


def render_index(base: str = "") -> str:
    links = "\n".join(f'<li><a href="{escape(base + a.path)}">{escape(a.title)}</a></li>' for a in ARTICLES)
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>wiseGEEK: clear answers for common questions</title></head>
<body><h1>wiseGEEK</h1><ul>
{links}
</ul></body></html>
"""
