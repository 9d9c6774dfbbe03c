"""The sample site's articles: health articles in the reference site's voice, written for
pagetrail. The first is the reference text's article ("What Is the Treatment for Liver
Calcification?"), word for word; the rest are ours.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Post:
    id: str  # the site's own id, announced by a script before the post
    number: int
    author: str
    paragraphs: tuple[str, ...]
    hidden: tuple[str, ...] = ()  # the continuation of a long post, behind "view entire post"


@dataclass(frozen=True)
class Article:
    slug: str
    title: str
    author: str
    editor: str
    modified: str  # as the site prints it: "14 June 2019"
    category: str
    blocks: tuple[tuple[str, ...], ...]  # paragraphs, in blocks separated by ad slots
    posts: tuple[Post, ...]  # newest first, as the site lists them
    related: tuple[tuple[str, str], ...] = field(default=())

    @property
    def path(self) -> str:
        return f"/{self.slug}.htm"


LIVER = Article(
    slug="what-is-the-treatment-for-liver-calcification",
    title="What Is the Treatment for Liver Calcification?",
    author="Erin J. Hill",
    editor="Bronwyn Harris",
    modified="14 June 2019",
    category="Medicine",
    blocks=(
        (
            "In most cases, no treatment is necessary for liver calcification. The condition is not a disease "
            "or illness in itself, but it may indicate the presence of another illness, however, which may "
            "require treatment. Occasionally, liver calcification may accompany a tumor or lesion on the organ. "
            "In this case, the mass will likely to be removed.",
            "Calcification occurs when the liver is damaged or stressed by an outside source. This can include "
            "disease as well as alcohol consumption, and the calcium deposits which are detected on the organ are "
            "generally there as a protective measure against further injury. Additional causes of calcification "
            "are infection, injury to the liver, and certain viral diseases.",
            "When the offending disease or condition is no longer present, there is often no necessary treatment "
            "for liver calcification. Further monitoring may be needed to rule out continued infection or "
            "disease. This is especially true in very young babies or children.",
            "Sometimes calcification can occur in infants due to infection during birth. Most commonly this is "
            "caused by meconium which enters the abdomen and causes infection. Long-term complications are "
            "uncommon, although sometimes a calcified mass or tumor can result. These are generally "
            "non-cancerous, but they are often surgically removed to prevent problems.",
        ),
        (
            "When an underlying illness or another condition is still present along with liver calcification, "
            "treatment generally includes proper remedies for this condition. Those who drink frequently are "
            "generally urged to stop, and those who eat fatty foods or lead a sedentary lifestyle are generally "
            "encouraged to eat healthier and engage in regular physical activity. Liver disease like cancer or "
            "cirrhosis of the liver may require more thorough treatment.",
            "Treatment for serious liver disease can include dialysis, medications, and sometimes a transplant. "
            "Leading a healthier lifestyle and avoiding certain substances is also important. Infection may be "
            "treated with antibiotics or other drugs.",
            "Sometimes liver calcification has no known cause. In this case patients are typically monitored but "
            "do not require treatment unless a cause is found. Certain medications may also lead to "
            "calcification. If calcified cysts grow, they may require surgery. Calcified cysts are masses which "
            "form from large quantities of calcium accumulating on the liver. Sometimes these cysts go away on "
            "their own over time without treatment.",
        ),
    ),
    posts=(
        Post("post_2409873", 3, "fify", (
            "I've read that magnesium may help prevent and treat liver calcification. The idea behind this claim "
            "is that magnesium helps calcium dissolve and get used by the body.",
            "Although it sounds like a great and simple idea, I don't think there is any truth to it. I don't "
            "think that liver calcification occurs because there is too much calcium in the body and not enough "
            "magnesium. There are other causes. So I don't think anyone should try to treat themselves with "
            "magnesium. Excessive magnesium can have negative side effects, it's possible to take too much.",
        )),
        Post("post_2409872", 2, "serenity36", (
            "@ysmina-- Yes, but it's important to get a thorough checkup and understand why these deposits have "
            "occurred in the first place. Although this condition does not always require treatment, it's not "
            "exactly a good idea to ignore it either when it is discovered. Because there is also a chance that "
            "it's linked to a more serious issue or may develop fairly quickly.",
            "For example, someone who drinks regularly and has liver calcification cannot pretend that nothing "
            "has happened and continue drinking. That mindset will allow the calcification to worsen and the "
            "function of the organ could be damaged as a result. I have a distant relative who died from liver "
            "failure and the first issue she experienced was calcification. But she ignored it and did not quit "
            "drinking.",
        )),
        Post("post_2409871", 1, "ysmina", (
            "I had no idea that calcium deposits form on the liver to prevent further injury to the organ. That's "
            "very interesting. I always though that liver calcification is dangerous and has to be treated "
            "immediately with the removal of the deposits. I didn't realize that they may be harmless and may be "
            "left alone if mild.",
        )),
    ),
    related=(
        ("What Is Liver Disease?", "/what-is-liver-disease.htm"),
        ("What Are the Symptoms of Cirrhosis?", "/what-are-the-symptoms-of-cirrhosis.htm"),
    ),
)

MAGNESIUM = Article(
    slug="what-are-the-signs-of-magnesium-deficiency",
    title="What Are the Signs of Magnesium Deficiency?",
    author="Mary McMahon",
    editor="Kristen Osborne",
    modified="3 March 2019",
    category="Health",
    blocks=(
        (
            "Magnesium deficiency, sometimes called hypomagnesemia, is uncommon in healthy people who eat a "
            "varied diet, because the kidneys limit how much of the mineral leaves the body in urine.",
            "Early signs include loss of appetite, nausea, fatigue and weakness. As the deficiency worsens, "
            "people may notice numbness, tingling, muscle cramps and, in severe cases, abnormal heart rhythms.",
        ),
        (
            "People with gastrointestinal diseases, type 2 diabetes or long-term alcohol dependence are more "
            "likely to run low, as are older adults, whose bodies absorb less magnesium from food.",
            "A blood test can show low levels, although most of the body's magnesium is stored in bone and "
            "tissue, so a normal result does not always rule a deficiency out.",
        ),
    ),
    posts=tuple(
        Post(f"post_31{n:04d}", n, author, (text,))
        for n, author, text in (
            (8, "anamur", "@literally45-- My doctor said the same thing about muscle cramps at night."),
            (7, "literally45", "I started taking a supplement after a blood test and the cramps stopped within weeks."),
            (6, "SarahGen", "Does anyone know whether magnesium citrate is absorbed better than oxide?"),
            (5, "burcinc", "@SarahGen-- Citrate is generally absorbed better, but it can upset the stomach."),
            (4, "donasmrs", "Leafy greens, nuts and seeds are the easiest way to get more of it from food."),
            (3, "ZipLine", "I had no idea that coffee could affect how much magnesium we lose."),
            (2, "turquoise", "The tingling in my hands turned out to be low magnesium, of all things."),
            (1, "bear78", "Good article. Low magnesium is more common than people think."),
        )
    ),
)

DDT = Article(
    slug="what-are-the-pros-and-cons-of-insect-repellent",
    title="What Are the Pros and Cons of Insect Repellent?",
    author="Caitlin Kenney",
    editor="Bronwyn Harris",
    modified="28 December 2018",
    category="Health",
    blocks=(
        (
            "Insect repellents protect against the bites of mosquitoes and ticks, which can carry diseases such "
            "as malaria, dengue fever and Lyme disease.",
            "The most studied ingredient, DEET, is effective for hours, but some people dislike its smell and "
            "the way it feels on the skin.",
        ),
        (
            "Alternatives such as picaridin and oil of lemon eucalyptus work nearly as well for many people, "
            "although they may need to be applied more often.",
        ),
    ),
    posts=(
        Post("post_357415", 2, "clintflint", (
            "@lluviaporos - The problem is that repellents only protect the person wearing them, and only for a "
            "few hours. Nets and drained standing water protect everyone in a house.",
        ), hidden=(
            "That is why public health programmes combine all three, and why repellent alone is not enough in "
            "places where malaria is common.",
        )),
        Post("post_357414", 1, "lluviaporos", (
            "I use repellent every evening in the summer and have not had a single bite this year.",
        )),
    ),
)

SLEEP = Article(
    slug="how-much-sleep-do-teenagers-need",
    title="How Much Sleep Do Teenagers Need?",
    author="Jessica Ellis",
    editor="Allegra J. Lingo",
    modified="9 September 2019",
    category="Health",
    blocks=(
        (
            "Most experts recommend that teenagers sleep between eight and ten hours a night, more than many of "
            "them actually get on school days.",
            "During puberty the body clock shifts later, so teenagers often feel alert late in the evening and "
            "struggle to wake early in the morning.",
        ),
    ),
    posts=(),
)

ARTICLES: tuple[Article, ...] = (LIVER, MAGNESIUM, DDT, SLEEP)

# What rotates on every fetch, like the reference site's widgets.
FACTS = (
    "On average, American adults spend 6.4 hours a day seated, while adolescents sit for more than eight "
    "hours a day.",
    "The youngest college graduate was 10 years old.",
    "The human liver can regrow to its full size from as little as a quarter of its tissue.",
    "Butterflies taste with their feet.",
)
HISTORY = (
    ("July 15", "1997", "Gianni Versace was murdered by a serial killer."),
    ("January 7", "1789", "The first US presidential election was held."),
    ("March 3", "1887", "Anne Sullivan began teaching Helen Keller."),
)
