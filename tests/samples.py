"""One valid literal record per contract, shared by the contract and the Spark tests."""
from __future__ import annotations

SAMPLES: dict[tuple[str, str], dict] = {
    ("erp", "customer"): {
        "customer_id": "CUS-00000001", "person_type": "PF", "document_number": "52998224725",
        "name": "João da Silva", "birth_date": "1980-05-17", "state": "SP", "city": "São Paulo",
        "created_at": "2024-03-05T14:22:31.123Z", "updated_at": "2024-03-05T14:22:31.123Z",
    },
    ("erp", "policy"): {
        "policy_id": "POL-0000000001", "customer_id": "CUS-00000001", "line_of_business": "0531",
        "product_code": "AUT-001", "state": "SP", "start_date": "2024-03-06", "end_date": "2025-03-06",
        "sum_insured": 85000, "annual_premium": 3412.57, "status": "active",
        "issued_at": "2024-03-05T15:00:00.000Z", "updated_at": "2024-03-05T15:00:00.000Z",
    },
    ("erp", "premium_installment"): {
        "installment_id": "INS-0000000001-01", "policy_id": "POL-0000000001", "installment_number": 1,
        "due_date": "2024-03-06", "amount": 19.01, "paid_date": None, "status": "open",
    },
    ("erp", "claim"): {
        "claim_id": "CLM-0000000001", "policy_id": "POL-0000000001", "occurrence_date": "2024-06-01",
        "notification_date": "2024-06-03", "cause": "colisao", "claimed_amount": 12000.5,
        "incurred_amount": 10800.45, "paid_amount": 0, "status": "opened", "updated_at": "2024-06-03T10:00:00Z",
    },
    ("susep", "market_statistics"): {
        "reference_month": "2024-05", "insurer_code": "05631", "insurer_name": "Lago Forte Seguros S.A.",
        "line_of_business": "0531", "state": "SP", "premiums_written": 1234567.89, "premiums_earned": -10.1,
        "claims_incurred": 654321.07, "claims_paid": 500000, "commission_expenses": 246913.58,
        "policies_in_force": 1523,
    },
}
