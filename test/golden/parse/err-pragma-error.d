#error stop here
BEGIN {}
