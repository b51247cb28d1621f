import { VEHICLE_TYPES, type VehicleType } from '../../src/domain/driver.ts';

export interface VehicleStyle {
  label: string;
  colour: string;
}

export const VEHICLE_STYLES: Record<VehicleType, VehicleStyle> = {
  economy: { label: 'Economy', colour: '#10b981' },
  comfort: { label: 'Comfort', colour: '#3b82f6' },
  xl: { label: 'XL', colour: '#8b5cf6' },
  van: { label: 'Van', colour: '#f59e0b' },
};

// The wire type is a plain string so the hub can add a vehicle type before
// this page knows it; such drivers still show, in a neutral colour.
const UNKNOWN_VEHICLE: VehicleStyle = { label: 'Other', colour: '#64748b' };

export function vehicleStyle(vehicleType: string): VehicleStyle {
  return isVehicleType(vehicleType) ? VEHICLE_STYLES[vehicleType] : { ...UNKNOWN_VEHICLE, label: vehicleType };
}

export function isVehicleType(value: string): value is VehicleType {
  return (VEHICLE_TYPES as readonly string[]).includes(value);
}
