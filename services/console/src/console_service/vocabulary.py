"""Words the pages show that come from the services' data (roles, statuses, channels,
outcomes...), marked here so that extraction puts them in the catalogues for translation."""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 (gettext's conventional name for "mark only")
    return message


WORDS = (
    # roles
    N_("collector"), N_("supervisor"), N_("legal"), N_("auditor"), N_("admin"),
    # case status and close reasons
    N_("open"), N_("closed"), N_("cured"), N_("paid_in_full"), N_("settled"), N_("written_off"),
    # channels
    N_("call"), N_("sms"), N_("email"), N_("app_push"), N_("letter"), N_("visit"),
    # outcomes
    N_("right_party_contact"), N_("third_party_contact"), N_("no_answer"), N_("busy"),
    N_("voicemail"), N_("wrong_number"), N_("disconnected"), N_("refused_to_pay"),
    N_("delivered"), N_("failed"),
    # parties and kinds of number
    N_("borrower"), N_("spouse"), N_("co_borrower"), N_("guarantor"), N_("employer"),
    N_("emergency_contact"), N_("mobile"), N_("home"), N_("work"),
    # promises
    N_("kept"), N_("broken"), N_("superseded"),
    # risk grades and contactability
    N_("low"), N_("medium"), N_("high"), N_("doubtful"), N_("loss"), N_("reachable"),
    N_("lost"), N_("unknown"),
    # legal stages
    N_("none"), N_("demand_served"), N_("referred_to_legal"), N_("lawsuit_filed"),
    N_("asset_preservation_granted"), N_("judgment"), N_("enforcement"),
    # queues and why a case is in one
    N_("queue:all"), N_("queue:m1"), N_("queue:m2"), N_("queue:m3"), N_("queue:m4plus"),
    N_("queue:lost-contact"), N_("queue:promises-due"), N_("promise due"), N_("near payday"),
    N_("lost contact"), N_("bucket M1"), N_("bucket M2"), N_("bucket M3"), N_("bucket M4+"),
    # the figures compared on the history page
    N_("version"), N_("status"), N_("bucket"), N_("days_past_due"), N_("arrears"),
    N_("outstanding_balance"), N_("risk_grade"), N_("contactability"), N_("legal_stage"),
    N_("limitation_expires_on"), N_("in_dispute"), N_("placed_with_agency"), N_("as_of"),
    # field visits, complaints, disputes
    N_("met_borrower"), N_("met_third_party"), N_("nobody_home"), N_("moved_away"),
    N_("refused"), N_("service"), N_("harassment"), N_("branch"), N_("regulator"),
    N_("field-visits"), N_("complaints"), N_("disputes"),
    # legal-service's recommendations
    N_("PrepareDemandLetter"), N_("ReferToLegal"), N_("ApplyForAssetPreservation"),
    N_("DemandFromGuarantor"), N_("StartCollateralDisposal"), N_("RecommendWriteOff"),
    N_("LimitationExpiring"),
    # legal steps and their choices
    N_("notices"), N_("lawsuits"), N_("judgments"), N_("enforcements"), N_("demand_letter"),
    N_("collection_notice"), N_("legal_notice"), N_("registered_mail"), N_("courier"),
    N_("in_person"), N_("in_favour"), N_("against"), N_("settled_in_court"),
    N_("asset-preservations"), N_("guarantor-demands"), N_("legal-costs"), N_("write-offs"),
    N_("court_fee"), N_("lawyer_fee"), N_("preservation_fee"), N_("preservation_bond"),
    N_("enforcement_fee"), N_("notary_fee"), N_("service_fee"), N_("other"),
    # a supervisor's actions
    N_("extension"), N_("restructuring"), N_("payment-plans"), N_("agency-placements"),
    N_("agency-recalls"),
    # restrictions
    N_("do_not_contact"), N_("cease_communication"), N_("workplace_forbidden"),
    N_("attorney"), N_("opt_out"), N_("deceased"), N_("bankrupt"),
)  # fmt: skip
