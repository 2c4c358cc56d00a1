#pragma D bogus
BEGIN {}
