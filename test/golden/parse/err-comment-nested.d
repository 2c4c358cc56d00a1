/* a /* b */
BEGIN {}
