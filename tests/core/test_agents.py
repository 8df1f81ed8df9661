"""Agents: the identity decides, the name is for people."""

from __future__ import annotations

from bot.core.agents import agent_display, agent_identity, agent_label, same_agent


def test_a_labelled_agent_splits_into_name_and_identity() -> None:
    mia = agent_label("Mia", "tg:4711")
    assert mia == "Mia [tg:4711]"
    assert (agent_identity(mia), agent_display(mia)) == ("tg:4711", "Mia")
    assert same_agent(mia, "Mia R. [tg:4711]") and not same_agent(mia, "Mia [tg:4712]")


def test_a_name_cannot_borrow_an_identity() -> None:
    forged = agent_label("Mia [tg:4711]", "tg:666")
    assert agent_identity(forged) == "tg:666" and not same_agent(forged, "Mia [tg:4711]")
    assert agent_display(forged) == "Mia [tg:4711]"  # shown as typed, but owns nothing of Mia's


def test_cli_agents_are_their_name() -> None:
    assert agent_identity("anna") == "anna" == agent_display("anna")
    assert same_agent("anna", "anna") and not same_agent("anna", None) and not same_agent(None, None)
    assert agent_display(agent_label("", "tg:1")) == "tg:1"
