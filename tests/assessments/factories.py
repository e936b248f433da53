"""An Alert factory for tests that need many alerts, or alerts raised at chosen times (set the clock first)."""

from __future__ import annotations

import factory

from assessments import rules
from assessments.models import Alert
from tests.factories import PatientFactory


class AlertFactory(factory.django.DjangoModelFactory):
    """An open alert of the patient's therapist, as a scan would have raised it (``rule_id`` picks the rule)."""

    class Meta:
        model = Alert

    patient = factory.SubFactory(PatientFactory)
    therapist = factory.SelfAttribute("patient.therapist")
    rule_id = "R-03"
    rule_slug = factory.LazyAttribute(lambda o: rules.RULES[o.rule_id].slug)
    title = factory.LazyAttribute(lambda o: rules.RULES[o.rule_id].title)
    severity = factory.LazyAttribute(lambda o: rules.RULES[o.rule_id].severity)
    rationale = factory.LazyAttribute(lambda o: rules.RULES[o.rule_id].rationale)
    criteria = factory.LazyFunction(lambda: ["A"])
    values = factory.LazyFunction(lambda: {"A": {"count": 2}})
    evidence = factory.LazyFunction(
        lambda: [
            {
                "kind": "post_workout",
                "entry_id": None,
                "occurred_at": None,
                "local_date": "2026-06-16",
                "values": {"stiffness_change": "stiffer"},
            }
        ]
    )
    ruleset_version = rules.RULESET_VERSION
    thresholds = factory.LazyFunction(rules.DEFAULT_PARAMS.to_dict)
