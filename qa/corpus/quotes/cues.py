"""The words that attribute speech: speech verbs in every form, and the nouns of a statement.

Words of English only. Which of them a sentence uses as a cue is for the parse to say: a verb
form counts when spaCy tags it a verb (not "his claims", "in all 50 states").
"""

from __future__ import annotations

# Verbs that report speech with a clause ("X said (that) …") or a quotation ('X said: "…"').
_CLAUSE_VERBS = """
    say said says saying
    tell told tells telling
    state stated states stating
    add added adds adding
    write wrote writes writing written
    warn warned warns warning
    insist insisted insists insisting
    note noted notes noting
    stress stressed stresses stressing
    emphasise emphasised emphasises emphasising emphasize emphasized emphasizes emphasizing
    underline underlined underlines underlining
    assert asserted asserts asserting
    argue argued argues arguing
    claim claimed claims claiming
    explain explained explains explaining
    declare declared declares declaring
    announce announced announces announcing
    inform informed informs informing
    tweet tweeted tweets tweeting
    post posted posts posting
    remark remarked remarks remarking
    reply replied replies replying
    respond responded responds responding
    caution cautioned cautions cautioning
    report reported reports reporting
    testify testified testifies testifying
    conclude concluded concludes concluding
    concede conceded concedes conceding
    confirm confirmed confirms confirming
    deny denied denies denying
    estimate estimated estimates estimating
    indicate indicated indicates indicating
    promise promised promises promising
    reaffirm reaffirmed reaffirms reaffirming
    acknowledge acknowledged acknowledges acknowledging
    admit admitted admits admitting
    suggest suggested suggests suggesting
    predict predicted predicts predicting
    recall recalled recalls recalling
    observe observed observes observing
    complain complained complains complaining
    allege alleged alleges alleging
    maintain maintained maintains maintaining
    contend contended contends contending
    reiterate reiterated reiterates reiterating
    agree agreed agrees agreeing
    mention mentioned mentions mentioning
    disclose disclosed discloses disclosing
    reveal revealed reveals revealing
    vow vowed vows vowing
    pledge pledged pledges pledging
    comment commented comments commenting
    opine opined opines opining
    hint hinted hints hinting
    share shared shares sharing
    point pointed points pointing
    counter countered counters countering
    reason reasoned reasons reasoning
    concur concurred concurs concurring
"""
# Verbs that report speech only when a quotation is their object: 'called it "a disgrace"',
# '"Why?" she asked', 'described the plan as "reckless"', '"…," he continued'.
_QUOTATION_VERBS = """
    call called calls calling
    ask asked asks asking
    describe described describes describing
    characterise characterised characterises characterize characterized characterizes
    continue continued continues continuing
    read reads
    accuse accused accuses accusing
    exclaim exclaimed exclaims
    shout shouted shouts
    joke joked jokes
    quip quipped quips
    recount recounted recounts
    scream screamed screams screaming
    yell yelled yells yelling
    urge urged urges urging
    express expressed expresses expressing
    refer referred refers referring
    label labeled labelled labels labeling labelling
    dub dubbed dubs dubbing
    brand branded brands branding
    term termed terms terming
    hail hailed hails hailing
    dismiss dismissed dismisses dismissing
"""

#: Verbs that name what someone or something is in the speaker's words: 'called it a
#: "disgrace"', 'accused him of "swindling"', 'referred to the vote as "a hoax"'. A quotation
#: of one or two words they govern is still a quote.
NAMING_VERBS = frozenset("""
    call called calls calling describe described describes describing characterise
    characterised characterises characterize characterized characterizes accuse accused
    accuses accusing declare declared declares declaring refer referred refers referring
    label labeled labelled labels labeling labelling dub dubbed dubs dubbing brand branded
    brands branding term termed terms terming hail hailed hails hailing dismiss dismissed
    dismisses dismissing
""".split())
#: Verbs of a court's decision: they report what it found, with a clause or a quotation, only
#: when a court or a judge is their subject ("the court found that …", "the tribunal ruled
#: the ban was unlawful", "the judges held that …").
COURT_VERBS = frozenset("""
    find found finds finding rule ruled rules ruling hold held holds holding
""".split())
#: The subjects that make those verbs a court's decision.
COURT_NOUNS = frozenset("""
    court courts tribunal tribunals judge judges justice justices jury panel
""".split())
#: Verb forms that report speech with a clause or a quotation.
CLAUSE_VERBS = frozenset(_CLAUSE_VERBS.split())
#: Every speech verb form.
SPEECH_VERBS = CLAUSE_VERBS | frozenset(_QUOTATION_VERBS.split())
#: Nouns of what is said or written: "a statement which read", "in a tweet, X wrote". A clause
#: whose subject is one of these is spoken by whoever issued it.
STATEMENT_NOUNS = frozenset("""
    statement statements tweet tweets post posts letter message release announcement decree
    communique communiqué note memo email e-mail notice ruling judgment judgement verdict
    summary report reports opinion website memoir memoirs autobiography poll polls survey
    proclamation
    surveys study studies analysis book books excerpt excerpts records figures data
""".split())
#: Words that open a clause which is an account, not what was said: "explained why …",
#: "noting which birds …", "told reporters what he saw".
WH_WORDS = frozenset("why how which what whether where when who whom whose".split())
#: Verbs of issuing a statement: "X released a statement which read …".
ISSUING_VERBS = frozenset("""
    release released releases issue issued issues publish published publishes post posted posts
    send sent sends sign signed signs deliver delivered delivers
""".split())
#: People who speak for the organisation they are of, when the article does not name them:
#: "an official from Acme", "an Elm Courier reporter".
OWNED_ROLES = frozenset("""
    official reporter correspondent
""".split())
#: Modal verbs that make a speech verb unreal: "would say", "might claim".
UNREAL_MODALS = frozenset("would could might may should must".split())
#: People named by a common noun ("one of the victims", "a witness", "the mother"): the
#: subject of a sentence, they are whom a "she" in the next means, and they have no name.
UNNAMED_PEOPLE = frozenset("""
    one someone somebody woman man women men mother father wife husband son daughter girl boy
    child victim witness eyewitness resident neighbour neighbor friend relative passenger
    driver survivor bystander
""".split())
