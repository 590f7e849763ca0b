"""Reference tables shared by the contracts, the generator and (later) the silver/gold layers.

Lines of business use SUSEP's 4-digit *ramo* codes (2-digit group + 2-digit ramo) as published in
SUSEP's SES statistics. Insurer codes are SUSEP-style 5-digit strings; the company and its competitors
below are fictitious (names and codes are made up for the sample data).
"""
from __future__ import annotations

# SUSEP ramo code -> name (the 8 lines the company and the sample market operate in).
LINES_OF_BUSINESS: dict[str, str] = {
    "0114": "Compreensivo Residencial",
    "0118": "Compreensivo Empresarial",
    "0351": "Responsabilidade Civil Geral",
    "0531": "Automóvel - Casco",
    "0553": "Automóvel - RCF-V (Responsabilidade Civil Facultativa de Veículos)",
    "0621": "Transporte Nacional",
    "0977": "Prestamista",
    "0993": "Vida",
}
LINE_OF_BUSINESS_CODES: tuple[str, ...] = tuple(sorted(LINES_OF_BUSINESS))

# Brazilian federative units (UF) -> name.
STATES: dict[str, str] = {
    "AC": "Acre", "AL": "Alagoas", "AM": "Amazonas", "AP": "Amapá", "BA": "Bahia", "CE": "Ceará",
    "DF": "Distrito Federal", "ES": "Espírito Santo", "GO": "Goiás", "MA": "Maranhão", "MG": "Minas Gerais",
    "MS": "Mato Grosso do Sul", "MT": "Mato Grosso", "PA": "Pará", "PB": "Paraíba", "PE": "Pernambuco",
    "PI": "Piauí", "PR": "Paraná", "RJ": "Rio de Janeiro", "RN": "Rio Grande do Norte", "RO": "Rondônia",
    "RR": "Roraima", "RS": "Rio Grande do Sul", "SC": "Santa Catarina", "SE": "Sergipe", "SP": "São Paulo",
    "TO": "Tocantins",
}
STATE_CODES: tuple[str, ...] = tuple(sorted(STATES))

# The company whose ERP feeds the platform, as it appears in SUSEP's statistics.
COMPANY_INSURER_CODE = "05631"
COMPANY_INSURER_NAME = "Lago Forte Seguros S.A."

# Insurers in the sample SUSEP market (company first). Fictitious.
INSURERS: dict[str, str] = {
    COMPANY_INSURER_CODE: COMPANY_INSURER_NAME,
    "05177": "Bandeirante Seguros Gerais S.A.",
    "06238": "Atlântica Companhia de Seguros",
    "06564": "Cruzeiro do Sul Seguros S.A.",
    "05908": "Ipê Vida e Previdência S.A.",
    "06882": "Serra Verde Seguradora S.A.",
}

# ERP product catalogue: product_code -> (line_of_business, product name).
PRODUCTS: dict[str, tuple[str, str]] = {
    "RES-001": ("0114", "Residencial Essencial"),
    "RES-002": ("0114", "Residencial Completo"),
    "EMP-001": ("0118", "Empresarial PME"),
    "EMP-002": ("0118", "Empresarial Indústria"),
    "RCG-001": ("0351", "RC Geral Operações"),
    "AUT-001": ("0531", "Auto Individual"),
    "AUT-002": ("0531", "Auto Frota"),
    "RCF-001": ("0553", "RCF-V Terceiros"),
    "TRN-001": ("0621", "Transporte Nacional Embarcador"),
    "PRE-001": ("0977", "Prestamista Crédito Pessoal"),
    "VID-001": ("0993", "Vida Individual"),
    "VID-002": ("0993", "Vida em Grupo"),
}

PERSON_TYPES: tuple[str, ...] = ("PF", "PJ")  # pessoa física (CPF, 11 digits) / jurídica (CNPJ, 14 digits)
POLICY_STATUSES: tuple[str, ...] = ("active", "suspended", "cancelled", "expired")
INSTALLMENT_STATUSES: tuple[str, ...] = ("open", "paid", "overdue", "cancelled")
CLAIM_STATUSES: tuple[str, ...] = ("opened", "under_review", "approved", "paid", "denied", "withdrawn")
CLAIM_CAUSES: tuple[str, ...] = (
    "alagamento",
    "avaria_carga",
    "colisao",
    "danos_eletricos",
    "desemprego_involuntario",
    "incendio",
    "invalidez_permanente",
    "morte_acidental",
    "morte_natural",
    "responsabilidade_civil",
    "roubo_furto",
    "vendaval",
)
