"""Index layout of the flat float64 arrays shared by the world's Python side and its kernel.

All 1-D arrays live in one ``blob`` (offsets ``B_*``) so that the kernel call has few
arguments; Python works on named views of it.

``x``: integrated own-spacecraft state that is not orbit or temperature; ``p``: parameters
(Python writes them, the kernel reads them); ``o``: outputs evaluated at the end of each
advance; ``acc``: running totals. Module-level ints are compile-time constants for Numba.
"""

from __future__ import annotations

# ---------------------------------------------------------------- x: state
X_MASS = 0  # own wet mass, kg
X_PROP = 1  # propellant, kg
X_BURN_LEFT = 2  # burn time still to run, s
X_BURN_DIR = 3  # 3..5 burn direction, ECI unit vector
X_Q = 6  # 6..9 attitude quaternion body->ECI, scalar first
X_RATE = 10  # 10..12 body rate, rad/s (body frame)
X_CHARGE = 13  # battery charge, Ah
X_T_ARRAY = 14  # array temperature, K
X_HW = 15  # 15..17 reaction-wheel momentum, body frame, N m s
X_DESAT = 18  # 1 while a momentum dump runs
N_X = 19

# ---------------------------------------------------------------- p: parameters
P_J2 = 0  # J2 value (0 disables)
P_DRAG_ON = 1  # 1/0
P_CD = 2
P_BODY_AREA = 3  # m^2
P_DRAG_MODE = 4  # 0 attitude, 1 fixed
P_DRAG_AREA = 5  # m^2 (fixed mode)
P_OMEGA_ATM = 6  # rad/s
P_DENS_MODEL = 7
P_ACT_LN = 8
P_DAYS0 = 9  # epoch, days since J2000
P_GMST0 = 10  # Greenwich sidereal angle at the epoch, rad
P_SHADOW = 11
P_SOLAR = 12  # W/m^2 at 1 AU
P_ALBEDO = 13
P_IR = 14  # W/m^2
P_SAA_LAT = 15  # rad
P_SAA_LON = 16  # rad
P_SAA_A = 17  # rad (latitude semi-axis)
P_SAA_B = 18  # rad (longitude semi-axis)
P_MODE = 19  # attitude mode
P_SLEW = 20  # rad/s
P_EPS_RAD = 21  # commanded radiator emissivity
P_BATT_NODE = 22  # thermal node index of the battery
P_A_AREA = 23
P_A_EFF = 24
P_A_PACK = 25
P_A_TC = 26  # 1/K
P_A_TREF = 27  # K
P_A_DEGR = 28
P_A_STR_OK = 29
P_A_STR_TOT = 30
P_A_CELLS = 31
P_A_VMP = 32  # V per cell
P_A_VMP_TC = 33  # V/K per cell
P_A_REG_EFF = 34
P_A_ALPHA = 35
P_A_EPS_F = 36
P_A_EPS_B = 37
P_A_CAP = 38  # J/K
P_A_TRACK = 39  # 0 one-axis about +Y, 1 body fixed
P_A_N = 40  # 40..42 body-fixed normal
P_B_CELLS_OK = 43
P_B_CAP_AH = 44
P_B_R25 = 45  # ohm per block
P_B_RTC = 46  # 1/K
P_B_ETA = 47
P_B_MAXC = 48  # C-rate
P_B_VMAX = 49  # V per block
P_B_TMIN = 50  # K
P_B_TMAX = 51  # K
P_LOAD_W = 52  # bus load drawn from the battery bus, W
P_THRUST = 53  # effective thrust, N
P_MDOT = 54  # effective mass flow, kg/s
P_SNAP_ATT = 55  # 1: set the attitude to the target before stepping (then cleared)
P_Q_TGT = 56  # 56..59 inertial-mode target quaternion body->ECI
P_V_TGT = 60  # 60..62 target-vector-mode direction, ECI unit vector
P_INERTIA = 63  # 63..65 principal moments of inertia, kg m^2
P_TDIST = 66  # 66..68 constant disturbance torque, body frame, N m
P_GG = 69  # 1: gravity-gradient torque on
P_HW_MAX = 70  # wheel momentum starting a dump, N m s
P_HW_RESET = 71  # wheel momentum ending a dump, N m s
P_DUMP_NM = 72  # dumping torque, N m
N_P = 73

# ---------------------------------------------------------------- o: outputs
O_SUN = 0  # 0..2 unit vector to the Sun, ECI
O_SUN_DIST = 3  # m
O_SUNLIT = 4
O_DENSITY = 5  # kg/m^3
O_BETA = 6  # rad
O_SAA = 7  # 1/0
O_LAT = 8  # geocentric latitude, rad
O_LON = 9  # longitude, rad
O_ALT = 10  # height above the ellipsoid, m
O_A_AVAIL = 11  # array power available after the regulator, W
O_A_POWER = 12  # array power delivered to the bus, W
O_A_CURRENT = 13  # A
O_A_VOLT = 14  # V
O_A_COSINC = 15
O_B_CURRENT = 16  # A, + charging
O_B_VOLT = 17  # terminal voltage, V
O_B_OCV = 18  # V
O_B_HEAT = 19  # W
O_SHUNT = 20  # W
O_UNDERVOLT = 21  # 1 when the load cannot be served
O_B_POWER = 22  # terminal power, W, + charging
O_DRAG_AREA = 23  # m^2
O_UNSERVED = 24  # W
O_SAA_S_CALL = 25  # seconds in the SAA during the last advance
O_ECL_S_CALL = 26  # shadowed seconds (integral of 1 - sunlit) during the last advance
O_UV_S_CALL = 27  # seconds with unserved load during the last advance
O_ANGLE_TGT = 28  # rotation angle from the attitude to the mode's target now, rad
N_O = 29

# ---------------------------------------------------------------- acc: running totals
A_TIME_S = 0
A_ECLIPSE_S = 1  # integral of (1 - sunlit_frac) dt
A_SAA_S = 2
A_CHARGE_IN_AH = 3  # integral of charging current (before coulombic efficiency)
A_CHARGE_OUT_AH = 4  # integral of discharging current
A_ARRAY_J = 5  # energy delivered by the array to the bus
A_LOAD_J = 6  # energy drawn by the loads (incl. converter losses)
A_SHUNT_J = 7
A_BATT_TERM_J = 8  # integral of V_term I dt (+ into the battery)
A_BATT_LOSS_J = 9  # integral of I^2 R dt
A_UNSERVED_J = 10
A_DV_M_S = 11  # delta-v from thrust
A_PROP_USED_KG = 12
A_BURN_S = 13
A_DESATS = 14  # momentum dumps started
A_DUMPED_NMS = 15  # wheel momentum removed by dumping, N m s
N_A = 16

# ---------------------------------------------------------------- blob: all 1-D arrays
B_OWN = 0  # own ECI state (6,)
B_X = B_OWN + 6
B_P = B_X + N_X
B_O = B_P + N_P
B_A = B_O + N_O
B_VEC = B_A + N_A  # scratch (6,)
B_NODES = B_VEC + 6  # then temp_k (n), cap_j_k (n), q_base_w (n)

# ---------------------------------------------------------------- enums
MODE_NADIR = 0
MODE_SUN = 1
MODE_MIN_DRAG = 2
MODE_INERTIAL = 3
MODE_TARGET = 4
MODES = {
    "nadir": MODE_NADIR,
    "sun": MODE_SUN,
    "min_drag": MODE_MIN_DRAG,
    "inertial": MODE_INERTIAL,
    "target_vector": MODE_TARGET,
}
