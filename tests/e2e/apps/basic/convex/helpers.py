"""A plain helper module: imported relatively by the function modules."""


def shout(text: str) -> str:
    return text.upper()
