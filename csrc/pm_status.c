/* pm_status.c -- status codes to static text. */
#include "pm_internal.h"

const char *pm_strerror(int status)
{
    switch (status) {
    case PM_OK:
        return "success";
    case PM_EINVAL:
        return "invalid argument";
    case PM_ENOMEM:
        return "workspace too small";
    case PM_EUNSUPPORTED:
        return "unsupported operation";
    case PM_ENONFINITE:
        return "input holds NaN or infinity";
    default:
        return "unknown status";
    }
}
