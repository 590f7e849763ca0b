"""Unstructured claim documents (attendance notes, inspection reports, settlement PDFs) for bronze."""
from __future__ import annotations

import json
import random
from datetime import date, timedelta

from data_contracts import reference as ref
from sample_data.common import _money
from sample_data.erp import _person_name

__all__ = ["generate_documents"]

_NOTE_OPENERS = (
    "O segurado entrou em contato pela central de atendimento e relatou o ocorrido.",
    "Comunicado recebido pelo corretor por e-mail, com fotos em anexo.",
    "Aviso de sinistro registrado pelo aplicativo; segurado orientado sobre a documentação.",
)
_NOTE_BODIES: dict[str, tuple[str, ...]] = {
    "colisao": ("Colisão traseira em via urbana, sem vítimas. Terceiro envolvido forneceu dados do seguro.",
                "Colisão lateral em cruzamento; boletim de ocorrência lavrado no local."),
    "roubo_furto": ("Veículo subtraído em estacionamento público durante a noite. BO registrado.",
                    "Arrombamento da residência com furto de eletrônicos; perícia agendada."),
    "alagamento": ("Alagamento após chuva forte; água atingiu o painel do veículo.",
                   "Infiltração e alagamento do pavimento térreo após temporal."),
    "incendio": ("Princípio de incêndio na cozinha, contido pelos bombeiros.",),
    "danos_eletricos": ("Queima de equipamentos após oscilação de energia na rede da concessionária.",),
    "vendaval": ("Destelhamento parcial causado por vendaval; lona provisória instalada.",),
    "responsabilidade_civil": ("Terceiro reclama danos materiais causados durante a prestação de serviço.",),
    "avaria_carga": ("Carga avariada durante o transporte rodoviário; mercadoria recusada pelo destinatário.",),
}
_DEFAULT_BODY = ("Documentação pessoal e laudos médicos solicitados aos beneficiários.",)


def _pdf(lines: list[str]) -> bytes:
    """A minimal, valid one-page PDF 1.4 showing ``lines`` (Helvetica, WinAnsi). Deterministic bytes."""
    def escape(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    content = "BT /F1 11 Tf 14 TL 50 800 Td " + " T* ".join(f"({escape(line)}) Tj" for line in lines) + " ET"
    stream = content.encode("cp1252", errors="replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def generate_documents(count: int, seed: int = 42) -> list[tuple[str, bytes, str]]:
    """Unstructured claim documents that land in bronze untouched: ``(key_suffix, body, content_type)``.

    Three documents per claim, in turn: an attendance note (``.txt``, Portuguese), an inspection report
    (``.json``) and a settlement report (``.pdf``), for claims ``CLM-0000000001``, ``CLM-0000000002``, ...
    (the ids :func:`generate` gives its first claims). Key suffixes look like
    ``claims/CLM-0000000001/nota-atendimento.txt``.
    """
    rng = random.Random(f"lakeforge-documents-{seed}")
    documents: list[tuple[str, bytes, str]] = []
    for index in range(count):
        claim_id = f"CLM-{index // 3 + 1:010d}"
        kind = index % 3
        cause = rng.choice(ref.CLAIM_CAUSES)
        day = date(2024, 1, 1) + timedelta(days=rng.randrange(366))
        name = _person_name(rng)
        body_text = rng.choice(_NOTE_BODIES.get(cause, _DEFAULT_BODY))
        if kind == 0:
            text = (
                f"NOTA DE ATENDIMENTO - SINISTRO {claim_id}\n"
                f"Data do atendimento: {day.strftime('%d/%m/%Y')}\n"
                f"Segurado(a): {name}\n"
                f"Causa informada: {cause.replace('_', ' ')}\n\n"
                f"{rng.choice(_NOTE_OPENERS)}\n{body_text}\n"
                f"Próximos passos: análise de cobertura e agendamento de vistoria.\n"
                f"Atendente: {_person_name(rng)}\n"
            )
            documents.append((f"claims/{claim_id}/nota-atendimento.txt", text.encode("utf-8"),
                              "text/plain; charset=utf-8"))
        elif kind == 1:
            report = {
                "claim_id": claim_id,
                "document_type": "vistoria",
                "inspection_date": day.isoformat(),
                "inspector": _person_name(rng),
                "cause": cause,
                "findings": [body_text, "Danos compatíveis com o relato do segurado."],
                "estimated_damage": _money(rng.uniform(800, 60_000)),
                "photos": rng.randint(3, 24),
                "recommendation": rng.choice(["indenizar", "indenizar_parcialmente", "negar", "solicitar_documentos"]),
            }
            body = (json.dumps(report, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")
            documents.append((f"claims/{claim_id}/vistoria.json", body, "application/json"))
        else:
            lines = [
                f"{ref.COMPANY_INSURER_NAME} - Relatório de Regulação de Sinistro",
                f"Sinistro: {claim_id}",
                f"Data: {day.strftime('%d/%m/%Y')}",
                f"Regulador(a): {_person_name(rng)}",
                f"Causa: {cause.replace('_', ' ')}",
                body_text,
                f"Valor apurado: R$ {rng.uniform(800, 60_000):,.2f}".replace(",", "X").replace(".", ",").replace("X", "."),
                "Documento gerado para fins de demonstração.",
            ]
            documents.append((f"claims/{claim_id}/relatorio-regulacao.pdf", _pdf(lines), "application/pdf"))
    return documents
