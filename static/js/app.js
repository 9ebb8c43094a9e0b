// Shared behaviour for every page. Page-specific code lives in its own file.
"use strict";
