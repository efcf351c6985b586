from qa.answer.conversation import refers_to_previous_answer, resolve_followup
from qa.types import Answer


def test_pronoun_follow_up_names_the_previous_person():
    assert resolve_followup("What did he say about NATO?", ["Who is Zhao Lijian?"]) == \
        "What did Zhao Lijian say about NATO?"


def test_follow_up_uses_resolved_question_of_an_earlier_answer():
    prev = Answer(question="Who is he?", resolved_question="Who is Daniel Kritenbrink?",
                  text="", citations=(), abstained=False, mode="hybrid")
    assert "Daniel Kritenbrink" in resolve_followup("What did he warn?", [prev])


def test_when_was_that_refers_to_the_previous_question():
    q = resolve_followup("When was that?", ["What did Kritenbrink say about the meeting?"])
    assert refers_to_previous_answer("When was that?")
    assert "Kritenbrink" in q and q.startswith("When was that?")


def test_stand_alone_questions_and_empty_history_are_unchanged():
    assert resolve_followup("Who is Katrina Yu?", ["Who is Wang Yi?"]) == "Who is Katrina Yu?"
    assert resolve_followup("What did he say?", []) == "What did he say?"


def test_a_question_that_names_its_own_person_keeps_its_pronouns():
    """After a question about Trump, "Why did Bernie Sanders end his campaign?" stays about
    Sanders (it became "…end Donald Trump's campaign?")."""
    history = ["What did Donald Trump say about the election?"]
    q = "Why did Bernie Sanders end his campaign?"
    assert resolve_followup(q, history) == q
    assert resolve_followup("Why did he end his campaign?", ["Why did Bernie Sanders quit?"]) \
        == "Why did Bernie Sanders end Bernie Sanders’s campaign?"
