/* unterminated
BEGIN {}
