"""jhub's PAM helper: talks to libpam through ctypes (no build step, no Python packages).

Reads one JSON request on stdin:
  {"op": "authenticate" | "open_session" | "close_session",
   "user": "...", "password": "...", "otp": "..." (optional), "service": "login",
   "encoding": "utf8", "check_account": true, "rhost": "1.2.3.4" (optional)}
Writes one JSON answer on stdout: {"ok": true} or {"ok": false, "stage": "...", "error": "..."}.
The password never appears in the answer, in argv or in the environment.
"""
import ctypes
import ctypes.util
import json
import sys

PAM_PROMPT_ECHO_OFF = 1
PAM_PROMPT_ECHO_ON = 2
PAM_ERROR_MSG = 3
PAM_TEXT_INFO = 4
PAM_RHOST = 4
PAM_REINITIALIZE_CRED = 0x0008
PAM_ESTABLISH_CRED = 0x0002
PAM_DELETE_CRED = 0x0004


class PamHandle(ctypes.Structure):
    _fields_ = [("handle", ctypes.c_void_p)]


class PamMessage(ctypes.Structure):
    _fields_ = [("msg_style", ctypes.c_int), ("msg", ctypes.c_char_p)]


class PamResponse(ctypes.Structure):
    _fields_ = [("resp", ctypes.c_char_p), ("resp_retcode", ctypes.c_int)]


CONV_FUNC = ctypes.CFUNCTYPE(
    ctypes.c_int,
    ctypes.c_int,
    ctypes.POINTER(ctypes.POINTER(PamMessage)),
    ctypes.POINTER(ctypes.POINTER(PamResponse)),
    ctypes.c_void_p,
)


class PamConv(ctypes.Structure):
    _fields_ = [("conv", CONV_FUNC), ("appdata_ptr", ctypes.c_void_p)]


def load():
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    name = ctypes.util.find_library("pam") or "libpam.so.0"
    libpam = ctypes.CDLL(name)
    libc.calloc.restype = ctypes.c_void_p
    libc.calloc.argtypes = [ctypes.c_size_t, ctypes.c_size_t]
    libc.strdup.restype = ctypes.c_void_p
    libc.strdup.argtypes = [ctypes.c_char_p]
    libpam.pam_start.restype = ctypes.c_int
    libpam.pam_start.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(PamConv), ctypes.POINTER(PamHandle)]
    libpam.pam_end.argtypes = [PamHandle, ctypes.c_int]
    libpam.pam_strerror.restype = ctypes.c_char_p
    libpam.pam_strerror.argtypes = [PamHandle, ctypes.c_int]
    for fn in ("pam_authenticate", "pam_acct_mgmt", "pam_setcred", "pam_open_session", "pam_close_session"):
        f = getattr(libpam, fn)
        f.restype = ctypes.c_int
        f.argtypes = [PamHandle, ctypes.c_int]
    libpam.pam_set_item.restype = ctypes.c_int
    libpam.pam_set_item.argtypes = [PamHandle, ctypes.c_int, ctypes.c_void_p]
    return libc, libpam


def main():
    req = json.loads(sys.stdin.read())
    enc = req.get("encoding") or "utf8"
    user = req["user"].encode(enc)
    service = (req.get("service") or "login").encode(enc)
    answers = [req.get("password") or ""]
    if req.get("otp"):
        answers.append(req["otp"])
    answers = [a.encode(enc) for a in answers]
    libc, libpam = load()
    state = {"i": 0}

    def conv(n, messages, p_response, appdata):
        addr = libc.calloc(n, ctypes.sizeof(PamResponse))
        if not addr:
            return 5  # PAM_BUF_ERR
        responses = ctypes.cast(addr, ctypes.POINTER(PamResponse))
        p_response[0] = responses
        for i in range(n):
            style = messages[i].contents.msg_style
            if style == PAM_PROMPT_ECHO_OFF:
                k = min(state["i"], len(answers) - 1)
                state["i"] += 1
                responses[i].resp = ctypes.cast(libc.strdup(answers[k]), ctypes.c_char_p)
            elif style == PAM_PROMPT_ECHO_ON:
                responses[i].resp = ctypes.cast(libc.strdup(user), ctypes.c_char_p)
            responses[i].resp_retcode = 0
        return 0

    conv_cb = CONV_FUNC(conv)
    handle = PamHandle()
    pam_conv = PamConv(conv_cb, 0)
    rc = libpam.pam_start(service, user, ctypes.byref(pam_conv), ctypes.byref(handle))
    if rc != 0:
        return {"ok": False, "stage": "start", "error": "pam_start failed (%d)" % rc}

    def err(stage, code):
        return {"ok": False, "stage": stage, "code": code, "error": libpam.pam_strerror(handle, code).decode(enc, "replace")}

    result = {"ok": True}
    try:
        if req.get("rhost"):
            buf = ctypes.create_string_buffer(req["rhost"].encode(enc))
            libpam.pam_set_item(handle, PAM_RHOST, ctypes.cast(buf, ctypes.c_void_p))
        op = req.get("op")
        if op == "authenticate":
            rc = libpam.pam_authenticate(handle, 0)
            if rc != 0:
                return err("authenticate", rc)
            rc = libpam.pam_setcred(handle, PAM_REINITIALIZE_CRED)
            if rc != 0:
                return err("setcred", rc)
            if req.get("check_account", True):
                rc = libpam.pam_acct_mgmt(handle, 0)
                if rc != 0:
                    return err("account", rc)
        elif op == "open_session":
            rc = libpam.pam_setcred(handle, PAM_ESTABLISH_CRED)
            if rc != 0:
                return err("setcred", rc)
            rc = libpam.pam_open_session(handle, 0)
            if rc != 0:
                return err("open_session", rc)
        elif op == "close_session":
            rc = libpam.pam_close_session(handle, 0)
            if rc != 0:
                return err("close_session", rc)
            libpam.pam_setcred(handle, PAM_DELETE_CRED)
        else:
            return {"ok": False, "stage": "request", "error": "unknown op"}
        return result
    finally:
        libpam.pam_end(handle, rc)


if __name__ == "__main__":
    try:
        out = main()
    except Exception as e:  # never echo the request
        out = {"ok": False, "stage": "helper", "error": "%s: %s" % (type(e).__name__, e)}
    sys.stdout.write(json.dumps(out))
    sys.stdout.flush()
